"""Serving files from a folder without letting a URL reach anything outside it.

The decisions page serves review reports and Data Docs from the Airflow host. A request path
is untrusted: ``..``, absolute paths, encoded separators, NUL bytes and symlinks that point
out of the folder must all end in "not found", never in a file elsewhere on the host.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from infra_review.reporting.standalone import standalone_page


class NotFound(LookupError):
    """The path does not name a regular file inside the folder (the caller answers 404)."""


def resolve_inside(root: Path, requested: str) -> Path:
    """The regular file ``requested`` names inside ``root``; raise NotFound otherwise."""
    if not requested or "\x00" in requested or "\\" in requested:
        raise NotFound(requested)
    parts = requested.split("/")  # the raw segments: no normalising before the check
    if any(p in ("", ".", "..") for p in parts):
        raise NotFound(requested)
    base = root.resolve()
    candidate = base.joinpath(*parts).resolve()  # follows symlinks: check where they land
    if not candidate.is_relative_to(base) or not candidate.is_file():
        raise NotFound(requested)
    return candidate


@dataclass(frozen=True)
class Served:
    body: bytes
    media_type: str


def render_file(path: Path) -> Served:
    """The file's bytes with its type; Markdown reports are rendered to a readable HTML page."""
    if path.suffix.lower() == ".md":
        page = standalone_page(path.read_text(encoding="utf-8"), path.name)
        return Served(page.encode(), _HTML)
    media_type, _ = mimetypes.guess_type(path.name)
    if media_type is None:
        media_type = "application/octet-stream"
    elif media_type.startswith("text/") or media_type in ("application/json", "image/svg+xml"):
        media_type += "; charset=utf-8"
    return Served(path.read_bytes(), media_type)


_HTML = "text/html; charset=utf-8"
