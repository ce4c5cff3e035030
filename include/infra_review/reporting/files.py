"""Serving files from a folder without letting a URL reach anything outside it.

The decisions page serves review reports and Data Docs from the Airflow host. A request path
is untrusted: ``..``, absolute paths, encoded separators, NUL bytes and symlinks must all end
in "not found", never in a file elsewhere on the host. Symlinks are refused even when they
stay inside the folder: the first folder decides who may read (capacity or provider reports),
so a link from one to the other would cross that boundary.
"""

from __future__ import annotations

import mimetypes
import os
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
    candidate = root.resolve()  # the configured folder itself may be a link; nothing below it
    for part in parts:
        candidate = candidate / part
        if candidate.is_symlink():
            raise NotFound(requested)
    if not candidate.is_file():
        raise NotFound(requested)
    return candidate


def _read_no_follow(path: Path) -> bytes:
    """The file's bytes, refusing a symlink swapped in since ``resolve_inside`` looked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise NotFound(str(path)) from exc
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


@dataclass(frozen=True)
class Served:
    body: bytes
    media_type: str


def render_file(path: Path) -> Served:
    """The file's bytes with its type; Markdown reports are rendered to a readable HTML page."""
    if path.suffix.lower() == ".md":
        page = standalone_page(_read_no_follow(path).decode("utf-8"), path.name)
        return Served(page.encode(), _HTML)
    media_type, _ = mimetypes.guess_type(path.name)
    if media_type is None:
        media_type = "application/octet-stream"
    elif media_type.startswith("text/") or media_type in ("application/json", "image/svg+xml"):
        media_type += "; charset=utf-8"
    return Served(_read_no_follow(path), media_type)


_HTML = "text/html; charset=utf-8"


def data_docs_index(root: Path, limit: int = 500) -> str:
    """A static list of the Data Docs validation pages, newest run first.

    GX's own ``index.html`` builds its table with script, which the policy Data Docs are
    served with never runs, so its list would be empty. Symlinked files are left out (the
    server refuses them anyway); every name is escaped.
    """
    from html import escape
    from urllib.parse import quote

    base = root.resolve()
    pages: list[tuple[str, str, str]] = []  # (run, suite, relative path)
    validations = base / "validations"
    for folder, _dirs, files in os.walk(validations):  # never into symlinked folders
        for name in files:
            path = Path(folder) / name
            if not name.endswith(".html") or path.is_symlink():
                continue
            rel = path.relative_to(base)
            # validations/<suite parts>/<run name>/<run time>/<batch>.html
            parts = rel.parts
            suite = ".".join(parts[1:-3]) if len(parts) > 4 else "/".join(parts[1:-1])
            pages.append((parts[-2] if len(parts) > 2 else "", suite, rel.as_posix()))
    pages.sort(reverse=True)
    rows = "".join(
        f"<tr><td>{escape(run)}</td><td><a href='{escape(quote(rel))}'>{escape(suite)}</a></td></tr>"
        for run, suite, rel in pages[:limit]
    )
    more = f"<p>The newest {limit} of {len(pages)} are listed.</p>" if len(pages) > limit else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Data Docs: validations</title></head><body><main>"
        "<h1>Data Docs: validations</h1>"
        "<p>Great Expectations results of the quality gate, newest first. Each page lists the "
        "failed expectations with the quarantined values.</p>"
        f"{more}<table><tr><th>run (UTC)</th><th>suite</th></tr>{rows}</table>"
        "</main></body></html>"
    )
