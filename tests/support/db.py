"""Databases on a PostgreSQL server, by URL: a fresh copy of a template, and its removal."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database of the same server."""
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def admin(url: str):
    """An autocommit connection (CREATE/DROP DATABASE cannot run in a transaction)."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def clone_database(admin_url: str, template: str, prefix: str) -> str:
    """A new database copied from ``template``; returns its name (drop it with ``drop``)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = admin(admin_url)
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    conn.close()
    return name


def drop(admin_url: str, database: str) -> None:
    conn = admin(admin_url)
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    conn.close()
