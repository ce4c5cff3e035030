"""What the two quarterly review DAGs share: the schedule, the quarter and dry-run params, and
the trigger form's choices read from the config files.

Not a DAG file (``.airflowignore`` skips it); the DAG files import it from the bundle folder,
which Airflow puts on ``sys.path``. Like a DAG file it imports nothing heavy at module level:
``airflow.sdk``, ``dateutil`` and the stdlib-only ``infra_review.clock`` and
``infra_review.quarter`` (YAML only inside a function): it runs on every parse.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param
from dateutil.relativedelta import relativedelta

# stdlib only (tests/dags/test_dagbag.py checks it): the quarter rules, not a copy of them
from infra_review import clock  # noqa: TID253
from infra_review.quarter import QUARTER_PATTERN, Quarter  # noqa: TID253

QUARTER_CHOICES = 8  # the trigger form offers the last eight full quarters
_MONTHS = {1: "Jan–Mar", 2: "Apr–Jun", 3: "Jul–Sep", 4: "Oct–Dec"}

# 06:00 UTC on the first day of each quarter, for the quarter that just ended.
QUARTERLY = CronTriggerTimetable(
    "0 6 1 1,4,7,10 *", timezone="UTC", interval=relativedelta(months=3)
)
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def review_dag_args(
    review: str, *, retries: int, retry_delay: timedelta, timeout: timedelta
) -> dict[str, Any]:
    """What both review DAGs pass to ``@dag`` besides their id, docs and params: the
    quarterly schedule, one run at a time, no catch-up, owner and tags."""
    return {
        "schedule": QUARTERLY,
        "start_date": START_DATE,
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["infra-review", "review", review],
        "default_args": {
            "owner": "infra-team",
            "retries": retries,
            "retry_delay": retry_delay,
            "execution_timeout": timeout,
            # the task logs say what happened in sentences; the XCom dict repr is noise
            "show_return_value_in_logs": False,
        },
    }


def quarter_choices(now: datetime | None = None) -> list[str]:
    """The last eight full quarters at ``now`` (default ``clock.now()``), newest first.

    Computed when the file is parsed, so it only fills the form for a person; scheduled runs
    take their quarter from the data interval (``infra_review.quarter.quarter_for_run``)."""
    quarter = Quarter.last_full_before(now or clock.now())
    out = []
    for _ in range(QUARTER_CHOICES):
        out.append(str(quarter))
        quarter = quarter.previous()
    return out


def quarter_param(now: datetime | None = None) -> Param:
    """A select of the last eight full quarters, defaulting to the last one, so neither a
    malformed nor an unfinished quarter can be submitted from the form."""
    choices = quarter_choices(now)
    return Param(
        choices[0],
        type=["null", "string"],
        enum=[*choices, None],  # None (cleared): the quarter of the run's data interval
        values_display={q: f"{q[:4]} Q{q[-1]} ({_MONTHS[int(q[-1])]})" for q in choices},
        pattern=QUARTER_PATTERN,
        title="Quarter",
        description="The quarter to review, like 2026Q3 (default: the last full quarter). Used by manual "
        "runs only; a scheduled run reviews the quarter that just ended.",
    )


def servers_param() -> Param:
    """capacity_review's servers: a multi-select from fleet.yaml."""
    return Param(
        None,
        type=["null", "array"],
        items={"type": "string"},
        title="Servers",
        description="Review only these servers (from fleet.yaml). Empty: every server in "
        "fleet.yaml plus any with samples in the quarter. A partial review makes no fleet "
        "(add_server) decision.",
        **config_choices("fleet.yaml", "servers", "name"),
    )


def dry_run_param(description: str) -> Param:
    return Param(False, type="boolean", title="Dry run", description=description)


def config_choices(file_name: str, collection: str, key: str, skip: str | None = None) -> dict:
    """``{"examples": [...]}`` from a config file's list (a multi-select in the trigger form),
    or ``{}`` when the file cannot be read: the form then takes a free list and the first
    task names the broken file. ``skip`` names a top-level key whose value is left out."""
    # infra_review.settings.config_dir() without importing the package (parse-time rule)
    home = os.environ.get("INFRA_REVIEW_HOME") or Path(__file__).resolve().parents[1]
    config = Path(os.environ.get("INFRA_REVIEW_CONFIG_DIR") or Path(home) / "include" / "config")
    try:
        import yaml

        doc = yaml.safe_load((config / file_name).read_text(encoding="utf-8"))
        excluded = doc.get(skip) if skip else None
        names = [str(item[key]) for item in doc[collection] if item[key] != excluded]
    except Exception:
        return {}
    return {"examples": names} if names else {}
