"""The embedded PostgreSQL (``pgserver``) used when no database is configured.

pgserver starts PostgreSQL on a unix socket only (trust authentication), which no BI tool
can reach. We start it ourselves with the same socket folder plus a TCP listener on
127.0.0.1, and make every TCP login need a password (scram-sha-256): local tools keep the
socket as before, a BI tool logs in over TCP as ``bi_reader`` with its password, and the
``postgres`` superuser, which has no password, cannot log in over TCP at all.

The port is ``INFRA_REVIEW_PG_PORT`` when set, else a free port chosen on the first start
and kept in the data folder, so the BI connection stays the same across restarts.
"""

from __future__ import annotations

import os
import re
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
PORT_ENV = "INFRA_REVIEW_PG_PORT"
_PORT_FILE = "infra_review_port"
_HBA_MARK = "# infra-review: TCP logins need a password (scram-sha-256); the socket stays trust"


@dataclass(frozen=True)
class EmbeddedServer:
    datadir: Path
    socket_dir: Path
    port: int
    host: str = HOST

    def url(self, database: str = "postgres") -> str:
        """libpq URL over the unix socket, as the superuser (trust, local only)."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"


def default_datadir() -> Path:
    from infra_review.settings import project_root

    return Path(os.environ.get("INFRA_REVIEW_PGDATA") or project_root() / ".pgdata")


def _pgserver():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); harmless here
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: only the embedded default needs it
        from pgserver.postgres_server import PostgresServer
        from pgserver.utils import PostmasterInfo
    return pgserver, PostgresServer, PostmasterInfo


def _system_user() -> str | None:
    # pgserver runs PostgreSQL as the user "pgserver" when started by root
    return "pgserver" if os.geteuid() == 0 else None


def _pg_ctl(datadir: Path, args: list[str]) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(args, pgdata=datadir, user=_system_user(), timeout=60)


def _port(datadir: Path) -> int:
    configured = os.environ.get(PORT_ENV, "").strip()
    if configured:
        return int(configured)
    saved = datadir / _PORT_FILE
    if saved.exists() and saved.read_text().strip().isdigit():
        return int(saved.read_text().strip())
    from pgserver.utils import find_suitable_port

    port = find_suitable_port(HOST)
    saved.write_text(f"{port}\n")
    return port


def require_tcp_passwords(datadir: Path) -> None:
    """Rewrite pg_hba.conf so that every ``host`` (TCP) line asks for scram-sha-256."""
    hba = datadir / "pg_hba.conf"
    text = hba.read_text()
    if _HBA_MARK in text:
        return
    lines = [
        re.sub(r"\b(trust|md5|password)\s*$", "scram-sha-256", line)
        if line.startswith("host")
        else line
        for line in text.splitlines()
    ]
    hba.write_text(_HBA_MARK + "\n" + "\n".join(lines) + "\n")  # keeps the file's owner


def _start(datadir: Path, socket_dir: Path, restart: bool) -> None:
    """pg_ctl start (or restart) with the socket and the TCP listener; when the kept port has
    been taken by another program meanwhile, once more on a new free port."""
    for attempt in (1, 2):
        options = f'-h {HOST} -p {_port(datadir)} -k "{socket_dir}"'
        action = "restart" if restart and attempt == 1 else "start"
        try:
            _pg_ctl(datadir, ["-w", "-o", options, "-l", str(datadir / "log"), action])
            return
        except subprocess.CalledProcessError:
            if attempt == 2 or os.environ.get(PORT_ENV, "").strip():
                raise
            (datadir / _PORT_FILE).unlink(missing_ok=True)


def ensure_running(datadir: Path | None = None) -> EmbeddedServer:
    """Start (or attach to) the embedded server with its socket and its TCP listener."""
    datadir = (datadir or default_datadir()).expanduser().resolve()
    datadir.mkdir(parents=True, exist_ok=True)
    pgserver, postgres_server, info_cls = _pgserver()
    with postgres_server._lock:  # the lock pgserver itself takes: one starter at a time
        info = info_cls.read_from_pgdata(datadir)
        running = info is not None and info.is_running()
        if (datadir / "PG_VERSION").exists() and not running:
            from pgserver.utils import find_suitable_socket_dir

            socket_dir = find_suitable_socket_dir(datadir, postgres_server.runtime_path)
            require_tcp_passwords(datadir)
            _start(datadir, socket_dir, restart=False)
            info = info_cls.read_from_pgdata(datadir)
    if info is None or not info.is_running():
        # a new data folder: pgserver runs initdb and starts it on the socket only
        pgserver.get_server(datadir, cleanup_mode=None)
        info = info_cls.read_from_pgdata(datadir)
    if info.hostname != HOST:
        with postgres_server._lock:
            info = info_cls.read_from_pgdata(datadir)
            if info.hostname != HOST:
                require_tcp_passwords(datadir)
                _start(datadir, info.socket_dir, restart=True)
                info = info_cls.read_from_pgdata(datadir)
    return EmbeddedServer(datadir=datadir, socket_dir=info.socket_dir, port=info.port)


def status(datadir: Path | None = None) -> EmbeddedServer | None:
    """The running embedded server, or None (starts nothing)."""
    datadir = (datadir or default_datadir()).expanduser().resolve()
    if not (datadir / "postmaster.pid").exists():
        return None
    _, _, info_cls = _pgserver()
    info = info_cls.read_from_pgdata(datadir)
    if info is None or not info.is_running():
        return None
    return EmbeddedServer(datadir=datadir, socket_dir=info.socket_dir, port=info.port)


def stop(datadir: Path | None = None) -> bool:
    """Stop the embedded server (fast shutdown: open sessions are ended); False if not running."""
    server = status(datadir)
    if server is None:
        return False
    try:
        _pg_ctl(server.datadir, ["-w", "-m", "fast", "stop"])
    except subprocess.CalledProcessError:
        if status(server.datadir) is not None:
            raise
    return True
