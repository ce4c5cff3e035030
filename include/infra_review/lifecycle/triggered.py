"""Who started a review, written the same way by both reviews."""

from __future__ import annotations

SCHEDULED = "scheduled"


def triggered_by(run_type: object = None, user: str | None = None) -> str:
    """The user's name for a manual run, ``scheduled`` for anything the scheduler started.

    ``run_type`` is Airflow's ``dag_run.run_type`` (an enum or its string, for example
    ``DagRunType.MANUAL`` or ``"manual"``) or None for the CLI; ``user`` is the triggering
    user (``dag_run.triggering_user_name``) or the CLI's login name."""
    kind = str(getattr(run_type, "value", run_type) or "").lower()
    if kind.startswith("dagruntype."):
        kind = kind.split(".", 1)[1]
    if kind and kind != "manual":
        return SCHEDULED  # scheduled, backfill, asset_triggered: no person asked for it
    name = (user or "").strip()
    return name or ("manual" if kind == "manual" else "cli")
