"""The fleet file: servers, their metadata and their sources, validated on load."""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra_review.errors import InputError
from infra_review.settings import config_dir

SERVER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class Server:
    name: str
    provider: str | None = None
    region: str | None = None
    plan: str | None = None
    ram_gb: float | None = None
    cpu_cores: int | None = None
    services: tuple[str, ...] = ()
    data_classes: tuple[str, ...] = ()
    sources: tuple[dict[str, Any], ...] = ()
    scrape_interval_s: int = 60


@dataclass(frozen=True)
class Fleet:
    path: str
    servers: dict[str, Server]
    requirements: dict[str, Any] = field(default_factory=dict)
    local_host_enabled: bool = True
    local_host_server: str | None = None

    def local_host_name(self) -> str:
        return self.local_host_server or socket.gethostname()

    def names(self) -> list[str]:
        return list(self.servers)


def fleet_path() -> Path:
    return config_dir() / "fleet.yaml"


def load_fleet(path: str | Path | None = None) -> Fleet:
    path = Path(path) if path else fleet_path()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"malformed YAML: {getattr(exc, 'problem', exc)}",
            file=str(path),
            line=mark.line + 1 if mark else None,
        ) from exc
    if not isinstance(doc, dict):
        raise InputError("expected a mapping at the top level", file=str(path))
    default_interval = _seconds(
        (doc.get("defaults") or {}).get("scrape_interval", "60s"), path, "scrape_interval"
    )
    servers: dict[str, Server] = {}
    for index, item in enumerate(doc.get("servers") or []):
        servers_field = f"servers[{index}]"
        if not isinstance(item, dict) or "name" not in item:
            raise InputError("each server needs a name", file=str(path), field=servers_field)
        name = str(item["name"])
        if not SERVER_NAME_RE.match(name):
            raise InputError(
                f"bad server name {name!r}", file=str(path), field=f"{servers_field}.name"
            )
        if name in servers:
            raise InputError(
                f"duplicate server {name!r}", file=str(path), field=f"{servers_field}.name"
            )
        for key in ("ram_gb", "cpu_cores"):
            value = item.get(key)
            if value is not None and (not isinstance(value, int | float) or value <= 0):
                raise InputError(
                    f"{key} must be a positive number, got {value!r}",
                    file=str(path),
                    field=f"{servers_field}.{key}",
                )
        sources = item.get("sources") or []
        for s_index, source in enumerate(sources):
            if not isinstance(source, dict) or "type" not in source:
                raise InputError(
                    "each source needs a type",
                    file=str(path),
                    field=f"{servers_field}.sources[{s_index}]",
                )
        servers[name] = Server(
            name=name,
            provider=item.get("provider"),
            region=item.get("region"),
            plan=item.get("plan"),
            ram_gb=float(item["ram_gb"]) if item.get("ram_gb") is not None else None,
            cpu_cores=int(item["cpu_cores"]) if item.get("cpu_cores") is not None else None,
            services=tuple(item.get("services") or ()),
            data_classes=tuple(item.get("data_classes") or ()),
            sources=tuple(sources),
            scrape_interval_s=_seconds(
                item.get("scrape_interval", default_interval),
                path,
                f"{servers_field}.scrape_interval",
            ),
        )
    local = doc.get("local_host") or {}
    enabled, name = _local_host_override(
        bool(local.get("enabled", True)), local.get("server"), path
    )
    return Fleet(
        path=str(path),
        servers=servers,
        requirements=dict(doc.get("requirements") or {}),
        local_host_enabled=enabled,
        local_host_server=name,
    )


LOCAL_HOST_ENV = "INFRA_REVIEW_LOCAL_HOST"


def _local_host_override(enabled: bool, name: str | None, path: Path) -> tuple[bool, str | None]:
    """``INFRA_REVIEW_LOCAL_HOST`` over the file's ``local_host``: ``off``, or the server name
    to store this machine under. Containers set it (docker-compose.yaml): there psutil would
    measure whichever worker ran the task under a random container hostname."""
    value = os.environ.get(LOCAL_HOST_ENV, "").strip()
    if not value:
        return enabled, name
    if value.lower() in ("off", "false", "no", "0"):
        return False, None
    if not SERVER_NAME_RE.match(value):
        raise InputError(
            f"{LOCAL_HOST_ENV}={value!r} is neither 'off' nor a server name", file=str(path)
        )
    return True, value


def _seconds(value: Any, path: Path, field_name: str) -> int:
    from infra_review.criteria.rules import parse_duration

    if isinstance(value, int):
        return value
    try:
        return int(parse_duration(value).total_seconds())
    except InputError as exc:
        raise InputError(exc.reason, file=str(path), field=field_name) from exc


def sync_servers(conn, fleet: Fleet) -> None:
    """Upsert the fleet's metadata into infra_review.servers (samples may add more servers)."""
    with conn.cursor() as cur:
        for s in fleet.servers.values():
            cur.execute(
                """INSERT INTO infra_review.servers
                       (server, provider, region, ram_gb, cpu_cores, services, registered_from)
                   VALUES (%s, %s, %s, %s, %s, %s, 'fleet')
                   ON CONFLICT (server) DO UPDATE SET
                       provider = EXCLUDED.provider, region = EXCLUDED.region,
                       ram_gb = EXCLUDED.ram_gb, cpu_cores = EXCLUDED.cpu_cores,
                       services = EXCLUDED.services, registered_from = 'fleet',
                       updated_at = now()""",
                (s.name, s.provider, s.region, s.ram_gb, s.cpu_cores, list(s.services)),
            )
