"""Connections to the decisions database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from infra_review.settings import database_url

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection


@contextmanager
def connect(url: str | None = None) -> Iterator[Connection]:
    """A connection that commits on success and rolls back on any error.

    One ``with connect()`` block is one transaction, so a failed load writes nothing.
    """
    import psycopg2

    conn = psycopg2.connect(url or database_url(), application_name="infra-review")
    try:
        yield conn
        conn.commit()
    except BaseException:
        # A dropped connection cannot roll back; let the original error through, not that.
        if not conn.closed:
            try:
                conn.rollback()
            except psycopg2.Error:
                pass
        raise
    finally:
        conn.close()
