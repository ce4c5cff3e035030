"""A report is one HTML file: plots inside it as data: URIs, nothing it could leak or lose."""

from __future__ import annotations

import base64

from infra_review.reporting.standalone import standalone_page, write_standalone

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def test_local_plots_are_embedded_and_the_markdown_is_rendered(tmp_path):
    (tmp_path / "ram.png").write_bytes(PNG)
    md = tmp_path / "report.md"
    md.write_text(
        "# Capacity review 2026Q3\n\n| subject | decision |\n|---|---|\n| app-1 | **upgrade_ram** |\n\n"
        "### Русский\n\n- **app-1** — увеличить RAM\n\n![RAM](ram.png)\n",
        encoding="utf-8",
    )
    html_path = write_standalone(md, "Capacity review 2026Q3")
    page = html_path.read_text(encoding="utf-8")
    assert html_path.name == "report.html"
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in page
    assert "ram.png" not in page  # nothing points at a sibling file a copy could lose
    assert "<table>" in page and "<strong>upgrade_ram</strong>" in page
    assert "увеличить RAM" in page and "<title>Capacity review 2026Q3</title>" in page


def test_only_images_inside_the_report_folder_are_read(tmp_path):
    report = tmp_path / "run"
    report.mkdir()
    (tmp_path / "secret.png").write_bytes(PNG)
    (report / "notes.txt").write_text("not an image")
    md = "![a](../secret.png) ![b](/etc/hostname) ![c](missing.png) ![d](notes.txt) ![e](https://x.org/p.png)"
    page = standalone_page(md, "t", report)
    assert "data:" not in page
    for src in (
        "../secret.png",
        "/etc/hostname",
        "missing.png",
        "notes.txt",
        "https://x.org/p.png",
    ):
        assert f'src="{src}"' in page


def test_raw_html_in_the_markdown_is_escaped(tmp_path):
    page = standalone_page("<script>alert(1)</script>\n\ntext", "t", tmp_path)
    assert "<script>" not in page and "&lt;script&gt;" in page
