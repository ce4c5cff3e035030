"""The package's import graph: no cycle among module-level imports, and no upward import
(domain code never imports the CLI or the Airflow adapter; reporting never imports the
quality gate; only ``infra_review.airflow`` knows Airflow among the review packages)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "infra_review"


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """Project modules ``path`` imports (at module level only, or anywhere)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` is not run
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name.startswith("infra_review"):
                found.add(name)
    return found


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    return {
        m: {i for i in _imports(p, top_level_only) if i != m and not m.startswith(i + ".")}
        for m, p in MODULES.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if state.get(n) is None and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if state.get(m) is None and (found := visit(m)):
            return found
    return None


def test_module_level_imports_have_no_cycle():
    graph = _graph(top_level_only=True)
    assert "infra_review.capacity.criteria.common" in graph["infra_review.capacity.criteria.ram"]
    assert sum(map(len, graph.values())) > 100  # the graph is really read
    assert _cycle(graph) is None


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def _importers_of(target: str) -> set[str]:
    return {
        m
        for m, deps in _graph(top_level_only=False).items()
        if any(d == target or d.startswith(target + ".") for d in deps)
    }


def test_only_the_cli_imports_the_cli():
    assert {
        m for m in _importers_of("infra_review.cli") if not m.startswith("infra_review.cli")
    } == set()


def test_reporting_never_imports_the_quality_gate():
    assert {m for m in _importers_of("infra_review.quality.gate") if ".reporting" in m} == set()


def test_domain_packages_never_import_the_airflow_adapter():
    assert _importers_of("infra_review.airflow") == set()


def test_criteria_and_time_series_sit_below_the_reviews():
    for low in ("infra_review.timeseries", "infra_review.criteria", "infra_review.reviewing"):
        upward = {
            d
            for m, deps in _graph(top_level_only=True).items()
            if m.startswith(low)
            for d in deps
            if d.startswith(("infra_review.capacity", "infra_review.provider", "infra_review.cli"))
        }
        assert upward == set(), low
