"""Plan sizes per provider for server.upgrade_limit.

Sizes come from providers.yaml when its ``kind: plan`` price-list items carry ``ram_gb`` and
``cpu_cores`` (the provider review owns that file), else from ``upgrade_limits.yaml``. The
review stores the sizes it used and the files' hashes, so the decision can be recomputed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml

from infra_review.errors import InputError
from infra_review.settings import config_dir


def _load_yaml(path: Path) -> tuple[Any, str]:
    raw = path.read_bytes()
    try:
        return yaml.safe_load(raw), hashlib.sha256(raw).hexdigest()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(
            f"malformed YAML: {getattr(exc, 'problem', exc)}",
            file=str(path),
            line=mark.line + 1 if mark else None,
        ) from exc


def _size(item: dict, path: Path, where: str) -> dict[str, Any]:
    out: dict[str, Any] = {"plan": str(item.get("plan") or item.get("item") or "")}
    if not out["plan"]:
        raise InputError("a plan needs a name", file=str(path), field=f"{where}.plan")
    for key in ("ram_gb", "cpu_cores"):
        value = item.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise InputError(
                f"{key} must be a positive number, got {value!r}",
                file=str(path),
                field=f"{where}.{key}",
            )
        out[key] = float(value)
    return out


def load_plans(
    limits_path: Path | None = None, providers_path: Path | None = None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """``{provider: [{plan, ram_gb, cpu_cores}]}`` and where each provider's sizes came from."""
    plans: dict[str, list[dict[str, Any]]] = {}
    source: dict[str, Any] = {"files": {}, "providers": {}}
    limits_path = limits_path or config_dir() / "upgrade_limits.yaml"
    if limits_path.exists():
        doc, sha = _load_yaml(limits_path)
        if not isinstance(doc, dict) or not isinstance(doc.get("providers"), dict):
            raise InputError("expected a mapping with 'providers'", file=str(limits_path))
        source["files"][str(limits_path)] = {"sha256": sha, "version": doc.get("version")}
        for provider, items in doc["providers"].items():
            if not isinstance(items, list):
                raise InputError(
                    "expected a list of plans", file=str(limits_path), field=f"providers.{provider}"
                )
            plans[str(provider)] = [
                _size(item, limits_path, f"providers.{provider}[{i}]")
                for i, item in enumerate(items)
            ]
            source["providers"][str(provider)] = str(limits_path)
    providers_path = providers_path or config_dir() / "providers.yaml"
    if providers_path.exists():
        doc, sha = _load_yaml(providers_path)
        for i, provider in enumerate((doc or {}).get("providers") or []):
            if not isinstance(provider, dict) or "id" not in provider:
                continue
            sized = [
                _size(item, providers_path, f"providers[{i}].price_list[{j}]")
                for j, item in enumerate(provider.get("price_list") or [])
                if isinstance(item, dict)
                and item.get("kind") == "plan"
                and item.get("ram_gb") is not None
                and item.get("cpu_cores") is not None
            ]
            if sized:
                plans[str(provider["id"])] = sized
                source["providers"][str(provider["id"])] = str(providers_path)
                source["files"][str(providers_path)] = {
                    "sha256": sha,
                    "version": doc.get("version"),
                }
    return plans, source
