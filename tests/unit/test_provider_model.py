"""providers.yaml: the shipped example loads; bad input names the file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_review.errors import InputError
from infra_review.fleet import load_fleet
from infra_review.provider.config import load_providers

SHIPPED = Path(__file__).resolve().parents[2] / "include" / "config" / "providers.yaml"


def test_shipped_providers_file_is_valid_and_labelled_as_example():
    config = load_providers(SHIPPED, fleet=load_fleet())
    assert config.current == "example-kz-cloud"
    assert {p.id for p in config.alternatives} == {"example-global-cloud", "example-eu-cloud"}
    assert "FICTIONAL" in SHIPPED.read_text(encoding="utf-8")
    cur = config.current_provider
    assert cur.match_line("vps-16g app-1").item == "vps-16g"
    assert cur.match_line("ip-reservation-fee") is None
    currencies = {i.currency for p in config.providers.values() for i in p.price_list}
    assert currencies == {"KZT", "EUR", "USD"}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "providers.yaml"
    path.write_text(text, encoding="utf-8")
    return path


BASE = """\
version: "1"
reporting_currency: KZT
current: cur
requirements:
  usage: {storage_gb: 10}
providers:
  - id: cur
    price_list:
      - {item: vps, kind: plan, price: 100, currency: KZT}
  - id: alt
    price_list:
      - {item: p1, kind: plan, price: 10, currency: EUR}
      - {item: vol, kind: storage, price: 1, currency: EUR}
    fleet: {app-1: p1, data-1: p1}
"""


def test_bad_currency_names_line_and_field(tmp_path):
    path = _write(tmp_path, BASE.replace("price: 10, currency: EUR", "price: 10, currency: euro"))
    with pytest.raises(InputError) as err:
        load_providers(path)
    assert err.value.file == str(path)
    assert err.value.line == 12
    assert err.value.field == "providers[1].price_list[0].currency"


def test_negative_price_and_unknown_plan_are_refused(tmp_path):
    with pytest.raises(InputError) as err:
        load_providers(_write(tmp_path, BASE.replace("price: 100,", "price: -1,")))
    assert err.value.field == "providers[0].price_list[0].price" and err.value.line == 9
    with pytest.raises(InputError) as err:
        load_providers(_write(tmp_path, BASE.replace("data-1: p1}", "data-1: p9}")))
    assert err.value.field == "providers[1].fleet.data-1" and err.value.line == 14


def test_alternative_must_host_the_whole_fleet(tmp_path):
    path = _write(tmp_path, BASE.replace("fleet: {app-1: p1, data-1: p1}", "fleet: {app-1: p1}"))
    load_providers(path)  # fine without the fleet check
    with pytest.raises(InputError) as err:
        load_providers(path, fleet=load_fleet())
    assert "data-1" in str(err.value) and err.value.field == "providers[1].fleet"


def test_storage_usage_needs_a_storage_price(tmp_path):
    path = _write(
        tmp_path, BASE.replace("      - {item: vol, kind: storage, price: 1, currency: EUR}\n", "")
    )
    with pytest.raises(InputError) as err:
        load_providers(path)
    assert "storage" in str(err.value) and err.value.field == "providers[1].price_list"


def test_score_needs_source_and_date_and_range(tmp_path):
    extra = "    scores:\n      reputation: {score: 4, date: 2026-01-01}\n"
    with pytest.raises(InputError) as err:
        load_providers(_write(tmp_path, BASE + extra))
    assert err.value.field == "providers[1].scores.reputation.source"
    extra = "    scores:\n      roadmap: {score: 6, source: x, date: 2026-01-01}\n"
    with pytest.raises(InputError) as err:
        load_providers(_write(tmp_path, BASE + extra))
    assert err.value.field == "providers[1].scores.roadmap.score" and err.value.line == 16


def test_malformed_yaml_and_unknown_current(tmp_path):
    with pytest.raises(InputError) as err:
        load_providers(_write(tmp_path, BASE + "  - id: [unclosed\n"))
    assert err.value.line is not None and "malformed YAML" in str(err.value)
    with pytest.raises(InputError) as err:
        load_providers(_write(tmp_path, BASE.replace("current: cur", "current: nobody")))
    assert err.value.field == "current" and err.value.line == 3


def test_unknown_provider_in_selection(tmp_path):
    config = load_providers(_write(tmp_path, BASE))
    assert [p.id for p in config.select(None)] == ["cur", "alt"]
    assert [p.id for p in config.select(["alt"])] == ["cur", "alt"]
    with pytest.raises(InputError, match="unknown provider"):
        config.select(["nope"])
