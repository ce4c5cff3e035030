"""A review report as one self-contained HTML file.

A report must read the same when it is mailed, copied off the Airflow host or opened from the
decisions page, so the plots travel inside it as ``data:`` URIs instead of sibling files a
copy would lose. Both reviews write Markdown first (diff-able, readable in a terminal) and
this turns it into the HTML file the review run links to.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from html import escape
from pathlib import Path

_IMG_SRC = re.compile(r'(<img\s[^>]*?src=")([^"]+)(")')
_INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")

PAGE_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1a202c;
background:#fff}main{max-width:1100px;margin:0 auto;padding:16px 24px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #cbd5e0;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#edf2f7}img{max-width:100%}
code{background:#edf2f7;padding:0 3px;border-radius:3px}
"""


def render_markdown(text: str) -> str:
    """CommonMark with tables; raw HTML in the text is escaped, never passed through."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # markdown-it-py comes with Airflow (rich); stay readable without it
        return f"<pre>{escape(text)}</pre>"
    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def inline_images(body: str, assets_dir: Path) -> str:
    """Replace each ``<img src>`` naming a file inside ``assets_dir`` with a ``data:`` URI.
    Anything else (absolute URLs, paths leaving the folder, missing files) stays as written."""
    root = assets_dir.resolve()

    def embed(match: re.Match[str]) -> str:
        src = match.group(2)
        if ":" in src or src.startswith("/"):
            return match.group(0)
        path = (root / src).resolve()
        media_type, _ = mimetypes.guess_type(path.name)
        if not path.is_relative_to(root) or not path.is_file() or media_type not in _INLINE_TYPES:
            return match.group(0)
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"{match.group(1)}data:{media_type};base64,{data}{match.group(3)}"

    return _IMG_SRC.sub(embed, body)


def standalone_page(
    markdown_text: str, title: str, assets_dir: Path | None = None, lang: str = "en"
) -> str:
    """The whole HTML document: the rendered Markdown, with every image found in
    ``assets_dir`` embedded (None: images stay links)."""
    body = render_markdown(markdown_text)
    if assets_dir is not None:
        body = inline_images(body, assets_dir)
    return (
        f"<!doctype html><html lang='{escape(lang)}'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{PAGE_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def write_standalone(markdown_path: Path, title: str) -> Path:
    """``report.html`` beside ``markdown_path``, built from it and the images next to it."""
    html_path = markdown_path.with_suffix(".html")
    page = standalone_page(markdown_path.read_text(encoding="utf-8"), title, markdown_path.parent)
    html_path.write_text(page, encoding="utf-8")
    return html_path
