"""The provider criteria registry: every criterion in criteria.yaml has one class, a
missing or misspelt parameter fails when the file is bound (naming the key and its line),
and the provider package has no import cycle and never imports the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra_review.criteria.rules import load_criteria
from infra_review.errors import InputError
from infra_review.provider.criteria import REGISTRY, bind
from infra_review.settings import config_dir

PACKAGE = Path(__file__).resolve().parents[2] / "include" / "infra_review" / "provider"


def test_every_provider_criterion_is_one_registered_class():
    bound = bind(load_criteria())
    assert list(bound) == [r.id for r in load_criteria().for_review("provider")]
    assert set(bound) == set(REGISTRY)
    for cid, criterion in bound.items():
        assert criterion.id == cid and criterion.group in ("financial", "technical", "strategic")
        module = type(criterion).__module__.rsplit(".", 1)[-1]
        assert module == criterion.group


def test_provider_criteria_live_in_the_one_shared_registry():
    from infra_review.criteria.registry import bind as shared_bind
    from infra_review.criteria.registry import registered

    shared = registered()
    assert all(shared[cid] is cls and cls.review == "provider" for cid, cls in REGISTRY.items())
    assert list(shared_bind(load_criteria(), "provider")) == list(bind(load_criteria()))
    r = bind(load_criteria())["fin.hidden_fees"]
    from datetime import UTC, datetime

    from infra_review.criteria.result import CriterionResult, Outcome

    t = datetime(2026, 7, 1, tzinfo=UTC)
    res = CriterionResult("fin.hidden_fees", "p", Outcome.NOT_MET, 2.0, 0.0, t, t, {})
    assert type(r).explain(res) == "fin.hidden_fees: not met, 2 line(s)"
    assert type(r).explain(res, "ru") == "fin.hidden_fees: не выполнен, 2 строки"


def _criteria_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (config_dir() / "criteria.yaml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "criteria.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_misspelt_parameter_is_named_with_its_line(tmp_path):
    path = _criteria_with(tmp_path, "    amortisation_years: 3", "    amortization_years: 3")
    with pytest.raises(InputError) as err:
        bind(load_criteria(path))
    assert err.value.field == "fin.tco.amortization_years"
    assert "amortisation_years" in str(err.value)  # the keys it does take
    line = path.read_text(encoding="utf-8").splitlines()[err.value.line - 1]
    assert line.strip().startswith("amortization_years")


def test_missing_required_parameter_is_named(tmp_path):
    path = _criteria_with(
        tmp_path, "    checklist: [ipv6, nvme, managed_kubernetes, s3_storage]\n", ""
    )
    with pytest.raises(InputError) as err:
        bind(load_criteria(path))
    assert err.value.field == "tech.modern.checklist" and err.value.line is not None


def test_wrong_type_is_refused(tmp_path):
    path = _criteria_with(tmp_path, "    min_years_in_business: 5", "    min_years_in_business: x")
    with pytest.raises(InputError) as err:
        bind(load_criteria(path))
    assert err.value.field == "strat.stability.min_years_in_business"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_provider_package_has_no_cycle_and_no_cli_import():
    modules = {
        "infra_review.provider."
        + ".".join(p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PACKAGE.rglob("*.py")
    }
    graph = {
        name: {m for m in _imports(path) if m in modules and m != name}
        for name, path in modules.items()
    }
    for name, path in modules.items():
        assert not any(m.startswith("infra_review.cli") for m in _imports(path)), name

    def visit(node: str, stack: list[str]) -> None:
        assert node not in stack, " -> ".join([*stack, node])
        for nxt in graph[node]:
            visit(nxt, [*stack, node])

    for name in graph:
        visit(name, [])
