"""Two engines for the same checks: Great Expectations 1.x (of record) and plain pandas
(the benchmark's baseline and a cross-check in tests).

Both return, per check, the positions of the failing rows in the frame they were given,
so the gate decides quarantine the same way whichever engine ran.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from infra_review.quality.checks import Check

log = logging.getLogger(__name__)


@dataclass
class CheckOutcome:
    check: Check
    success: bool
    element_count: int
    unexpected_count: int
    failed: np.ndarray  # index labels of the failing rows
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SuiteOutcome:
    suite: str
    success: bool
    statistics: dict[str, Any]
    checks: list[CheckOutcome]
    validation_id: Any = None  # GX's ValidationResultIdentifier, for Data Docs
    docs_url: str | None = None


def _resolve(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, dict) and "$PARAMETER" in value:
        return params.get(value["$PARAMETER"])
    return value


def _statistics(outcomes: list[CheckOutcome]) -> dict[str, Any]:
    ok = sum(1 for o in outcomes if o.success)
    total = len(outcomes)
    return {
        "evaluated_expectations": total,
        "successful_expectations": ok,
        "unsuccessful_expectations": total - ok,
        "success_percent": 100.0 * ok / total if total else 100.0,
    }


class PandasEngine:
    """The checks as vectorised pandas, matching GX's semantics (nulls are ignored by every
    check but not_null; compound uniqueness flags every member of a duplicate group)."""

    name = "pandas"

    def run(
        self, suite: str, checks: list[Check], frame: pd.DataFrame, params: dict[str, Any]
    ) -> SuiteOutcome:
        outcomes = []
        for check in checks:
            column = frame[check.columns[0]]
            if check.kind == "not_null":
                bad = column.isna()
            elif check.kind == "between":
                low = _resolve(check.params.get("min_value"), params)
                high = _resolve(check.params.get("max_value"), params)
                inside = pd.Series(True, index=frame.index)
                if low is not None:
                    inside &= column >= low
                if high is not None:
                    inside &= column <= high
                bad = column.notna() & ~inside
            elif check.kind == "in_set":
                bad = column.notna() & ~column.isin(check.params["value_set"])
            elif check.kind == "regex":
                matched = column.astype(str).str.contains(check.params["regex"], regex=True)
                bad = column.notna() & ~matched.fillna(False).astype(bool)
            elif check.kind == "unique":
                bad = frame[list(check.columns)].duplicated(keep=False)
            else:  # pragma: no cover - declarations are ours
                raise ValueError(check.kind)
            failed = frame.index.to_numpy()[bad.to_numpy(dtype=bool)]
            outcomes.append(CheckOutcome(check, len(failed) == 0, len(frame), len(failed), failed))
        return SuiteOutcome(
            suite, all(o.success for o in outcomes), _statistics(outcomes), outcomes
        )

    def build_docs(self, outcomes: list[SuiteOutcome]) -> None:
        """Plain pandas has no Data Docs."""


class GXEngine:
    """Great Expectations 1.x: one ephemeral context per task, one suite per name, built once
    and run for every batch with that batch's parameters."""

    name = "gx"
    SITE = "infra_review"

    def __init__(self, docs_dir: Path | None = None) -> None:
        self.docs_dir = docs_dir
        self._ctx = None
        self._definitions: dict[str, Any] = {}

    @property
    def context(self):
        if self._ctx is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            import great_expectations as gx
            from great_expectations.data_context.types.base import ProgressBarsConfig

            for name in ("great_expectations", "great_expectations.core"):
                logging.getLogger(name).setLevel(logging.WARNING)
            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            if self.docs_dir is not None:
                self.docs_dir.mkdir(parents=True, exist_ok=True)
                ctx.add_data_docs_site(
                    site_name=self.SITE,
                    site_config={
                        "class_name": "SiteBuilder",
                        "store_backend": {
                            "class_name": "TupleFilesystemStoreBackend",
                            "base_directory": str(self.docs_dir),
                        },
                        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    },
                )
            self._asset = ctx.data_sources.add_pandas("infra_review").add_dataframe_asset("samples")
            self._batch = self._asset.add_batch_definition_whole_dataframe("batch")
            self._ctx = ctx
        return self._ctx

    def _definition(self, suite: str, checks: list[Check]):
        if suite in self._definitions:
            return self._definitions[suite]
        import great_expectations as gx
        import great_expectations.expectations as gxe

        ctx = self.context
        classes = {
            "not_null": gxe.ExpectColumnValuesToNotBeNull,
            "between": gxe.ExpectColumnValuesToBeBetween,
            "in_set": gxe.ExpectColumnValuesToBeInSet,
            "regex": gxe.ExpectColumnValuesToMatchRegex,
        }
        gx_suite = ctx.suites.add(gx.ExpectationSuite(name=suite))
        for check in checks:
            meta = {"check": check.id, "reason": check.reason}
            if check.kind == "unique":
                expectation = gxe.ExpectCompoundColumnsToBeUnique(
                    column_list=list(check.columns), meta=meta
                )
            else:
                expectation = classes[check.kind](
                    column=check.columns[0], meta=meta, **check.params
                )
            gx_suite.add_expectation(expectation)
        definition = ctx.validation_definitions.add(
            gx.ValidationDefinition(name=suite, data=self._batch, suite=gx_suite)
        )
        self._definitions[suite] = definition
        return definition

    def run(
        self, suite: str, checks: list[Check], frame: pd.DataFrame, params: dict[str, Any]
    ) -> SuiteOutcome:
        definition = self._definition(suite, checks)
        result = definition.run(
            batch_parameters={"dataframe": frame},
            expectation_parameters=params,
            result_format={
                "result_format": "COMPLETE",
                "partial_unexpected_count": 20,
                "return_unexpected_index_query": False,
            },
        )
        by_id = {c.id: c for c in checks}
        outcomes = []
        for r in result.results:
            check = by_id[r.expectation_config.meta["check"]]
            info = r.exception_info or {}
            raised = info.get("raised_exception") or any(
                isinstance(v, dict) and v.get("raised_exception") for v in info.values()
            )
            if raised:
                # a metric that errors gives success=False instead of raising: never let a
                # broken check pass or quarantine rows silently
                raise RuntimeError(f"GX check {check.name} in {suite} errored: {info}")
            res = r.result or {}
            failed = np.asarray(res.get("unexpected_index_list") or [], dtype="int64")
            outcomes.append(
                CheckOutcome(
                    check,
                    bool(r.success),
                    int(res.get("element_count") or len(frame)),
                    int(res.get("unexpected_count") or 0),
                    failed,
                    {"partial_unexpected_list": res.get("partial_unexpected_list")},
                )
            )
        vid = None
        try:
            vid = self._validation_id(result)
        except Exception as exc:  # Data Docs are a convenience; the gate's verdict is not
            log.warning("could not identify the validation result for Data Docs: %s", exc)
        return SuiteOutcome(
            suite, bool(result.success), dict(result.statistics), outcomes, validation_id=vid
        )

    def _validation_id(self, result):
        """The store key GX gave this result (suite name + run id), for Data Docs."""
        from great_expectations.data_context.types.resource_identifiers import (
            ValidationResultIdentifier,
        )

        for key in self.context.validation_results_store.list_keys():
            if (
                isinstance(key, ValidationResultIdentifier)
                and key.expectation_suite_identifier.name == result.suite_name
                and key.run_id == result.meta["run_id"]
            ):
                return key
        return None

    def build_docs(self, outcomes: list[SuiteOutcome]) -> None:
        """Render this batch's validation pages into the static site; set each docs_url."""
        ids = [o.validation_id for o in outcomes if o.validation_id is not None]
        if self.docs_dir is None or not ids:
            return
        ctx = self.context
        ctx.build_data_docs(site_names=[self.SITE], resource_identifiers=ids)
        for outcome in outcomes:
            if outcome.validation_id is None:
                continue
            urls = ctx.get_docs_sites_urls(
                resource_identifier=outcome.validation_id, site_name=self.SITE
            )
            outcome.docs_url = urls[0]["site_url"] if urls else None
        # keep the in-memory store small over a long backfill: the pages are on disk now
        for vid in ids:
            try:
                ctx.validation_results_store.remove_key(vid)
            except Exception as exc:  # pragma: no cover - best effort
                log.debug("could not drop %s from the in-memory store: %s", vid, exc)
