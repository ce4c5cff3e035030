"""``infra-review servers list|forget NAME``: see which servers the store knows, and remove a
phantom one (a typo in an export) with its samples in one transaction."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    servers = subparsers.add_parser("servers", help="list servers, or forget a phantom one")
    sub = servers.add_subparsers(dest="servers_command", required=True, metavar="ACTION")
    sub.add_parser(
        "list", help="every server in the store, and whether fleet.yaml lists it"
    ).set_defaults(handler=_list)
    forget = sub.add_parser(
        "forget", help="delete a server that fleet.yaml does not list, with its series and samples"
    )
    forget.add_argument("name", help="the server name, exactly as `servers list` shows it")
    forget.set_defaults(handler=_forget)


def _list(args: argparse.Namespace) -> int:
    from infra_review.fleet import load_fleet
    from infra_review.store.db import connect
    from infra_review.store.servers import list_servers

    listed = set(load_fleet().names())
    with connect() as conn:
        rows = list_servers(conn)
    print(f"{'server':<24} {'fleet.yaml':<10} {'series':>6} {'samples':>10}  first .. last sample")
    for row in rows:
        span = (
            f"{row.first_ts:%Y-%m-%d %H:%M} .. {row.last_ts:%Y-%m-%d %H:%M}"
            if row.first_ts
            else "-"
        )
        flag = "listed" if row.server in listed else "NOT LISTED"
        print(f"{row.server:<24} {flag:<10} {row.series:>6} {row.samples:>10}  {span}")
    missing = sorted(listed - {row.server for row in rows})
    if missing:
        print(f"listed in fleet.yaml but not in the store yet: {', '.join(missing)}")
    return 0


def _forget(args: argparse.Namespace) -> int:
    from infra_review.fleet import load_fleet
    from infra_review.store.db import connect
    from infra_review.store.servers import forget_server

    listed = set(load_fleet().names())
    with connect() as conn:
        gone = forget_server(conn, args.name, listed)
    print(f"forgot server {gone.server}: {gone.series} series and {gone.samples} sample(s) deleted")
    return 0
