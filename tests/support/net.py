"""Loopback ports for services a test starts, and waiting for them without a fixed sleep."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    check: Callable[[], bool],
    timeout: float,
    what: str,
    context: Callable[[], str] | None = None,
    interval: float = 1.0,
) -> None:
    """Poll ``check`` until it is true; after ``timeout`` s raise naming ``what`` (and the
    ``context`` text, for example a server's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}\n" + (context or str)())
