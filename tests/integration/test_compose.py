"""The production compose file, checked without a Docker engine (there is none here).

- Debian's ``docker-compose`` 1.29 renders it (``config``) with the .env that
  ``deploy/init-env.sh`` writes, and refuses it when a secret is missing;
- it validates against the compose-spec JSON schema that docker-compose ships;
- its structure follows the official Airflow 3 file (services, health checks,
  ``depends_on`` conditions, CeleryExecutor, no examples, no _PIP_ADDITIONAL_REQUIREMENTS);
- every path it mounts exists in the repo, every variable it reads is documented in
  .env.example, every secret is required (``${VAR:?}``) and never has a default, every image
  is pinned and the Dockerfile's base image matches the Airflow pin in requirements.txt;
- the monitoring profile's Prometheus and blackbox configs pass their own checkers;
- deploy/postgres/init-databases.sh, run against a real PostgreSQL 16 (pgserver, like the
  ``postgres:16`` image), gives roles under which the project's migrations run and bi_reader
  reads ``reporting`` and nothing else.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
INIT_ENV = ROOT / "deploy" / "init-env.sh"
INIT_DB = ROOT / "deploy" / "postgres" / "init-databases.sh"
CHECK_SECRETS = ROOT / "deploy" / "check-secrets.sh"

pytestmark = pytest.mark.integration

AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}
MONITORING = {"prometheus", "node-exporter", "blackbox-exporter", "grafana"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY$")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}; $${...} is a literal
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")
# host paths the node_exporter reads to measure the host (not repository paths)
HOST_PATHS = {"/proc", "/sys", "/"}


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def read_env(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file (comments and blank lines skipped)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            out[key.strip()] = value
    return out


def env_example() -> dict[str, str]:
    return read_env(ENV_EXAMPLE)


def strings(node: Any) -> Iterator[str]:
    """Every key and string value of the parsed file (comments are not part of it)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, str):
        yield node


def references() -> list[tuple[str, str | None, str]]:
    """(name, operator, default-or-message) of every variable the compose file reads."""
    return [
        (m[1], m[2], m[3] or "") for text in strings(compose()) for m in VARIABLE.finditer(text)
    ]


def resolve(value: str) -> str:
    """A compose string with each ${VAR:-default} replaced by its default."""
    return VARIABLE.sub(lambda m: m[3] if m[2] in (":-", "-") else m[0], value)


def generated_env(tmp_path: Path) -> Path:
    """The .env the README tells an operator to create (deploy/init-env.sh)."""
    target = tmp_path / "generated.env"
    subprocess.run(["bash", str(INIT_ENV), str(target)], check=True, capture_output=True)
    return target


def docker_compose() -> str:
    path = shutil.which("docker-compose")
    if path is None:
        pytest.skip("docker-compose not installed (apt-get install docker-compose; .ci/run does)")
    return path


def run_compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [docker_compose(), "--project-directory", str(ROOT), "-f", str(COMPOSE)]
        + ["--env-file", str(env_file), "--profile", "monitoring", *args],
        capture_output=True,
        text=True,
        timeout=120,
        # only the env file may supply values: none leak in from this shell
        env={k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
    )


# --- docker-compose and the compose-spec schema ---------------------------------------------


def test_compose_config_renders_with_the_generated_env(tmp_path: Path) -> None:
    env_file = generated_env(tmp_path)
    result = run_compose(env_file, "config")
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    values = read_env(env_file)
    assert set(rendered["services"]) >= AIRFLOW_SERVICES | MONITORING | {"postgres", "redis"}
    worker_env = rendered["services"]["airflow-worker"]["environment"]
    assert worker_env["AIRFLOW__CORE__FERNET_KEY"] == values["AIRFLOW_FERNET_KEY"]
    assert values["REDIS_PASSWORD"] in worker_env["AIRFLOW__CELERY__BROKER_URL"]
    assert values["INFRA_REVIEW_DB_PASSWORD"] in worker_env["AIRFLOW_CONN_INFRA_REVIEW_DB"]
    # the same secrets in every Airflow container, or tokens and encrypted values break
    for name in AIRFLOW_SERVICES | {"airflow-init"}:
        env = rendered["services"][name]["environment"]
        for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"):
            assert env[key] == worker_env[key], (name, key)


def test_compose_config_refuses_a_missing_secret(tmp_path: Path) -> None:
    env_file = generated_env(tmp_path)
    text = env_file.read_text()
    env_file.write_text(re.sub(r"(?m)^AIRFLOW_JWT_SECRET=.*$", "AIRFLOW_JWT_SECRET=", text))
    result = run_compose(env_file, "config", "-q")
    assert result.returncode != 0
    assert "AIRFLOW_JWT_SECRET" in result.stderr
    # .env.example itself leaves every secret empty, so copying it unchanged fails loudly too
    assert run_compose(ENV_EXAMPLE, "config", "-q").returncode != 0


def test_compose_file_matches_the_compose_spec_schema() -> None:
    import jsonschema

    docker_compose()
    found = list(Path("/usr/lib/python3/dist-packages/compose/config").glob("compose_spec.json"))
    if not found:
        pytest.skip("docker-compose's compose_spec.json not found")
    schema = json.loads(found[0].read_text())
    jsonschema.validate(compose(), schema)
    broken = compose()
    broken["services"]["airflow-worker"]["healthcheck"]["interval"] = ["30s"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


# --- structure: the official Airflow 3 layout -----------------------------------------------


def test_services_follow_the_official_airflow_3_layout() -> None:
    doc = compose()
    services = doc["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", "airflow-init"} <= set(services)
    for name, service in services.items():
        if name not in ("airflow-init", "airflow-cli", "secrets-check"):
            assert "healthcheck" in service, f"{name} has no health check"
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert rule["condition"] in ("service_healthy", "service_completed_successfully")
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {
        "condition": "service_healthy"
    }
    assert services["airflow-worker"]["command"] == "celery worker"

    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:")
    assert "/opt/airflow/include" in env["PYTHONPATH"].split(":")
    assert "AIRFLOW_CONN_INFRA_REVIEW_DB" in env, "the decisions database as a connection"
    assert not any("_PIP_ADDITIONAL_REQUIREMENTS" in text for text in strings(doc))

    mounts = {v.split(":")[1] for v in services["airflow-worker"]["volumes"]}
    for folder in ("dags", "plugins", "include", "config"):
        assert f"/opt/airflow/{folder}" in mounts, folder
    init = " ".join(services["airflow-init"]["command"])
    assert "infra_review.cli db upgrade" in init
    assert services["airflow-init"]["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    assert services["airflow-init"]["environment"]["_AIRFLOW_WWW_USER_CREATE"] == "true"

    for name in MONITORING:
        assert services[name]["profiles"] == ["monitoring"], name
    assert set(doc["volumes"]) >= {"postgres-db-volume"}


def test_airflow_metadata_and_decisions_use_separate_databases_and_roles() -> None:
    env = compose()["services"]["airflow-worker"]["environment"]
    meta = re.match(
        r".*://(\w+):.*@postgres:5432/(\w+)$", env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    )
    decisions = re.match(r".*://(\w+):.*@postgres:5432/(\w+)$", env["AIRFLOW_CONN_INFRA_REVIEW_DB"])
    assert meta and decisions
    assert meta.groups() == ("airflow", "airflow")
    assert decisions.groups() == ("infra_review", "infra_review")


# --- paths, variables, secrets, images ------------------------------------------------------


def test_every_mounted_path_exists_in_the_repo() -> None:
    doc = compose()
    named = set(doc.get("volumes") or {})
    checked = 0
    for name, service in doc["services"].items():
        for volume in service.get("volumes") or []:
            source = resolve(volume).split(":")[0]
            if source in HOST_PATHS:
                continue
            if not source.startswith((".", "/")):
                assert source in named, f"{name}: volume {source} is not declared"
                continue
            assert not source.startswith("/"), f"{name}: absolute host path {source}"
            assert (ROOT / source).exists(), f"{name}: {source} does not exist in the repo"
            checked += 1
        build = service.get("build")
        if build:
            assert (ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).is_file()
    assert checked >= 8


def test_every_variable_is_documented_in_env_example() -> None:
    documented = env_example()
    for name, _, _ in references():
        assert name in documented, f"${{{name}}} is not in .env.example"
    unused = set(documented) - {name for name, _, _ in references()}
    assert not unused, f".env.example documents variables the compose file never reads: {unused}"


def test_secrets_are_required_and_never_defaulted() -> None:
    secret_refs = [(n, op) for n, op, _ in references() if SECRET_NAME.search(n)]
    assert len({n for n, _ in secret_refs}) >= 9
    for name, operator in secret_refs:
        assert operator == ":?", f"${{{name}}} must be written ${{{name}:?...}}"
        assert env_example()[name] == "", f".env.example must not hold a value for {name}"
    # no literal credential inside a URL: user:password@ must be a variable
    for text in strings(compose()):
        for match in re.finditer(r"://[^:/\s@]*:([^@\s]+)@", text):
            assert match[1].startswith("${"), f"literal credential in {match[0]}"
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) and key != "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS":
                assert "${" in str(value), f"{name}: literal secret in {key}"


def test_images_are_pinned_and_the_dockerfile_matches_requirements() -> None:
    for name, service in compose()["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: unpinned {image}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^ARG AIRFLOW_IMAGE=apache/airflow:(\d+\.\d+\.\d+)", dockerfile, re.M)
    assert base, "the Dockerfile builds FROM apache/airflow:<version>"
    pinned = re.search(r"^apache-airflow==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pinned and base[1] == pinned[1], "image and requirements.txt pin the same Airflow"
    assert base[1].startswith("3.3."), "Airflow 3.3.x"
    assert re.search(r"pip install .*-r /opt/airflow/requirements.txt", dockerfile)
    for source in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", dockerfile, re.M):
        for part in source.split():
            assert (ROOT / part).exists(), f"Dockerfile copies missing {part}"


# --- the generated .env and the monitoring configs ------------------------------------------


def test_init_env_generates_every_secret_and_never_overwrites(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    target = generated_env(tmp_path)
    values = read_env(target)
    assert set(values) == set(env_example())
    for name in values:
        if SECRET_NAME.search(name):
            assert len(values[name]) >= 32 and re.fullmatch(r"[A-Za-z0-9_=-]+", values[name]), name
    Fernet(values["AIRFLOW_FERNET_KEY"].encode())  # raises if not a valid Fernet key
    assert values["AIRFLOW_JWT_SECRET"] != values["AIRFLOW_API_SECRET_KEY"]
    assert len(bytes.fromhex(values["AIRFLOW_JWT_SECRET"])) >= 64, "HS512 wants 64+ bytes"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    again = subprocess.run(["bash", str(INIT_ENV), str(target)], capture_output=True, text=True)
    assert again.returncode != 0 and "not overwriting" in again.stderr


def test_prometheus_and_blackbox_configs_pass_their_checkers(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    blackbox = shutil.which("prometheus-blackbox-exporter")
    if not promtool or not blackbox:
        pytest.skip("promtool / prometheus-blackbox-exporter not installed (.ci/run installs them)")
    config = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    result = subprocess.run(
        [promtool, "check", "config", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    bb = ROOT / "deploy" / "blackbox" / "blackbox.yml"
    result = subprocess.run(
        [blackbox, f"--config.file={bb}", "--config.check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    broken = tmp_path / "prometheus.yml"
    broken.write_text(config.read_text().replace("scrape_interval: 60s", "scrape_interval: soon"))
    assert subprocess.run(
        [promtool, "check", "config", str(broken)], capture_output=True
    ).returncode


# --- PostgreSQL: the first-start script, then the project's migrations ----------------------


def test_postgres_init_script_gives_working_least_privilege_roles() -> None:
    import pgserver
    import psycopg2

    from infra_review.store.migrate import upgrade

    # a folder of its own: pytest's numbered temp folders are pruned by concurrent runs
    folder = Path(tempfile.mkdtemp(prefix="ir-compose-pg-"))
    server = pgserver.get_server(folder / "pgdata", cleanup_mode="stop")
    try:
        admin = server.get_uri("postgres")
        socket_dir = re.search(r"host=([^&]+)", admin)[1]
        psql_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
        env = {
            "PATH": f"{psql_dir}:{os.environ['PATH']}",
            "PGHOST": socket_dir,
            "POSTGRES_USER": "postgres",
            "AIRFLOW_DB_PASSWORD": "a" * 32,
            "INFRA_REVIEW_DB_PASSWORD": "b" * 32,
            "BI_READER_PASSWORD": "c" * 32,
        }
        result = subprocess.run(["bash", str(INIT_DB)], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr

        def url(user: str, database: str) -> str:
            return f"postgresql://{user}@/{database}?host={socket_dir}"

        # the project's migrations run as the owner role, not as a superuser
        assert upgrade(url("infra_review", "infra_review"))
        with psycopg2.connect(url("infra_review", "infra_review")) as conn, conn.cursor() as cur:
            cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            assert cur.fetchone() == (False,)
        with psycopg2.connect(url("bi_reader", "infra_review")) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM reporting.current_decisions")
            assert cur.fetchone() == (0,)
        with psycopg2.connect(url("bi_reader", "infra_review")) as conn, conn.cursor() as cur:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT count(*) FROM infra_review.decisions")
        # bi_reader (or anyone but the owner) gets into no other database
        for database in ("airflow", "postgres", "template1"):
            with pytest.raises(psycopg2.OperationalError, match="permission denied"):
                psycopg2.connect(url("bi_reader", database))
        # inside infra_review: no large objects, no advisory locks for bi_reader; the owner may
        for statement in ("SELECT lo_create(0)", "SELECT pg_advisory_lock(74211001)"):
            with psycopg2.connect(url("bi_reader", "infra_review")) as conn, conn.cursor() as cur:
                cur.execute("SET default_transaction_read_only = off")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute(statement)
            conn.close()
        with psycopg2.connect(url("infra_review", "infra_review")) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(74211002, 1)")
        conn.close()
        # the owner role's `db upgrade` re-applies the rules (not a superuser: checked above)
        with psycopg2.connect(url("infra_review", "infra_review")) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT has_database_privilege('bi_reader', 'infra_review', 'TEMPORARY'), "
                "(SELECT rolconfig FROM pg_roles WHERE rolname = 'bi_reader')"
            )
            assert cur.fetchone() == (
                False,
                [
                    "default_transaction_read_only=on",
                    "statement_timeout=120s",
                    "search_path=reporting",
                ],
            )
        with psycopg2.connect(url("airflow", "airflow")) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE probe (id int)")  # Airflow's migrations create tables
            cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'airflow'")
            assert cur.fetchone() == ("airflow",)
        again = subprocess.run(["bash", str(INIT_DB)], env=env, capture_output=True, text=True)
        assert again.returncode != 0, "the script is for an empty volume only"
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def test_grafana_gets_every_variable_its_provisioning_reads() -> None:
    """grafana/ (the BI dashboards) reads $VARS from the container; the compose file must set
    each, and mount the dashboards where the dashboard provider looks."""
    grafana = compose()["services"]["grafana"]
    env = grafana["environment"]
    files = sorted((ROOT / "grafana" / "provisioning").rglob("*.y*ml"))
    assert files, "grafana/provisioning has no provisioning files"
    seen = set()
    for path in files:
        for text in strings(yaml.safe_load(path.read_text(encoding="utf-8"))):
            for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", text):
                assert name in env, f"{path.name} reads ${name}; the grafana service lacks it"
                seen.add(name)
            if text.startswith("/var/lib/grafana/"):
                mounts = {v.split(":")[1] for v in grafana["volumes"]}
                assert any(text.startswith(m) for m in mounts), f"{text} is not mounted"
    assert "BI_READER_PASSWORD" in seen, "the reporting data source logs in as bi_reader"


# --- issue 15 item 9: weak secrets refused, unauthenticated services on loopback -------------


def secret_names() -> set[str]:
    return {n for n, _, _ in references() if SECRET_NAME.search(n)}


def check_secrets(values: dict[str, str], *names: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(CHECK_SECRETS), *names],
        env={"PATH": os.environ["PATH"], **values},
        capture_output=True,
        text=True,
    )


def test_check_secrets_refuses_a_secret_shorter_than_16_characters(tmp_path: Path) -> None:
    values = read_env(generated_env(tmp_path))
    names = sorted(secret_names())
    assert check_secrets(values, *names).returncode == 0
    for length, ok in ((15, False), (16, True), (0, False)):
        weak = dict(values, REDIS_PASSWORD="x" * length)
        result = check_secrets(weak, *names)
        assert (result.returncode == 0) is ok, (length, result.stderr)
        assert ("REDIS_PASSWORD" in result.stderr) is not ok
    unset = {k: v for k, v in values.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    result = check_secrets(unset, *names)
    assert result.returncode == 1 and "GRAFANA_ADMIN_PASSWORD has 0 characters" in result.stderr
    assert check_secrets(values).returncode == 2  # naming nothing checks nothing: refused


def test_every_secret_is_checked_before_any_service_starts() -> None:
    services = compose()["services"]
    check = services["secrets-check"]
    assert set(check["command"]) == secret_names()
    for name in check["command"]:
        assert check["environment"][name] == f"${{{name}:?set {name} in .env}}"
    assert "./deploy/check-secrets.sh:/usr/local/bin/check-secrets.sh:ro" in check["volumes"]
    assert check["entrypoint"] == ["bash", "/usr/local/bin/check-secrets.sh"]

    def waits_for_check(name: str, seen: frozenset = frozenset()) -> bool:
        depends = services[name].get("depends_on") or {}
        if depends.get("secrets-check", {}).get("condition") == "service_completed_successfully":
            return True
        return any(waits_for_check(d, seen | {name}) for d in depends if d not in seen)

    for name, service in services.items():
        reads_secret = any(
            SECRET_NAME.search(m[1]) for text in strings(service) for m in VARIABLE.finditer(text)
        )
        if reads_secret and name != "secrets-check":
            assert waits_for_check(name), f"{name} can start before the secrets are checked"
    for name in ("postgres", "redis"):
        assert services[name]["depends_on"]["secrets-check"] == {
            "condition": "service_completed_successfully"
        }


def published(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host address, host port) of each published port of a rendered service."""
    out = []
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            out.append((port.get("host_ip", "0.0.0.0"), str(port["published"])))
        else:
            parts = port.split("/")[0].split(":")
            out.append((parts[0], parts[1]) if len(parts) == 3 else ("0.0.0.0", parts[0]))
    return out


@pytest.mark.parametrize("bind", [None, "0.0.0.0"])
def test_flower_and_prometheus_listen_on_loopback_unless_told(tmp_path: Path, bind) -> None:
    env_file = generated_env(tmp_path)
    if bind:  # how docs/threat-model.md says to publish them (behind a proxy with a login)
        with env_file.open("a") as out:
            out.write(f"FLOWER_BIND={bind}\nPROMETHEUS_BIND={bind}\n")
    result = run_compose(env_file, "--profile", "flower", "config")
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)["services"]
    assert published(rendered["flower"]) == [(bind or "127.0.0.1", "5555")]
    assert published(rendered["prometheus"]) == [(bind or "127.0.0.1", "9090")]
    # the services with a login of their own stay published as before
    assert published(rendered["airflow-apiserver"]) == [("0.0.0.0", "8080")]


def test_init_script_guards_the_same_functions_as_db_upgrade() -> None:
    from infra_review.store.migrate import GUARDED_FUNCTIONS

    text = INIT_DB.read_text(encoding="utf-8")
    for statement in ("REVOKE EXECUTE ON FUNCTION", "GRANT EXECUTE ON FUNCTION"):
        body = text.split(statement, 1)[1].split(
            " FROM PUBLIC" if "REVOKE" in statement else " TO "
        )[0]
        listed = {" ".join(f.split()) for f in re.findall(r"\w+\([^)]*\)", body)}
        assert listed == set(GUARDED_FUNCTIONS), statement
