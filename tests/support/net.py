"""Loopback ports for services a test starts, and waiting for them without a fixed sleep."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_port_with_bus(offset: int = 10_000, low: int = 20_000, high: int = 30_000) -> int:
    """A free port whose ``port + offset`` is free too, for a Redis cluster node.

    Redis puts its cluster bus at port + 10000 and refuses a port above 55535, which an
    ephemeral port (32768-60999 here) often is; so both ports are taken below the
    ephemeral range, where the kernel does not hand them out to other sockets."""
    for port in random.sample(range(low, high), 200):
        if _bindable(port) and _bindable(port + offset):
            return port
    raise RuntimeError(f"no free port pair (p, p+{offset}) in {low}-{high}")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


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
