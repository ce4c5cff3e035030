"""``infra-review db``: schema migrations and the database URL."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    db = subparsers.add_parser(
        "db",
        help="the database: migrations, its URL, BI connection settings, stop the embedded one",
    )
    sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = sub.add_parser("upgrade", help="apply pending migrations (idempotent)")
    upgrade.set_defaults(handler=_upgrade)
    status = sub.add_parser("status", help="list migrations and whether each is applied")
    status.set_defaults(handler=_status)
    url = sub.add_parser(
        "url", help="print the database URL in use (starts the embedded server if needed)"
    )
    url.add_argument(
        "--bi",
        action="store_true",
        help="print what a BI tool needs instead: host, port, database, user bi_reader and "
        "where its password is",
    )
    url.set_defaults(handler=_url)
    stop = sub.add_parser(
        "stop",
        help="stop the embedded PostgreSQL (.pgdata); a configured DATABASE_URL is left alone",
    )
    stop.set_defaults(handler=_stop)
    meta = sub.add_parser(
        "airflow-url",
        help="print a SQLAlchemy URL for Airflow's metadata: database 'airflow' on the same server",
    )
    meta.set_defaults(handler=_airflow_url)


def _upgrade(args: argparse.Namespace) -> int:
    from infra_review.store.migrate import upgrade

    applied = upgrade()
    print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    from infra_review.reporting.bi import prepare

    prepare()  # the embedded server: bi_reader gets its generated password
    return 0


def _status(args: argparse.Namespace) -> int:
    from infra_review.store.migrate import status

    for version, name, applied in status():
        print(f"{version} {name:<30} {'applied' if applied else 'pending'}")
    return 0


def _url(args: argparse.Namespace) -> int:
    if args.bi:
        from infra_review.reporting.bi import prepare

        print("\n".join(prepare().lines()))
        return 0
    from infra_review.settings import database_url

    print(database_url())
    return 0


def _stop(args: argparse.Namespace) -> int:
    from infra_review.embedded_pg import default_datadir, stop
    from infra_review.reporting.bi import embedded

    if not embedded():
        print("DATABASE_URL (or AIRFLOW_CONN_INFRA_REVIEW_DB) names a server of yours: not stopped")
        return 0
    stopped = stop()
    print(
        f"embedded PostgreSQL in {default_datadir()} {'stopped' if stopped else 'was not running'}"
    )
    return 0


def _airflow_url(args: argparse.Namespace) -> int:
    from infra_review.settings import airflow_metadata_url

    print(airflow_metadata_url())
    return 0
