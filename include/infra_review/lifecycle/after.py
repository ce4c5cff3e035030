"""Whether a run criterion was met again after a decision was implemented (``lifecycle.confirm``).

A review judges its quarter: a run counts in the quarter in which it passes its duration, and
one that passed it in the previous quarter is listed under ``carried_over_runs``. Neither
says whether the level was above the threshold *after* an upgrade done during the quarter, so
confirming an upgrade reads the runs themselves (each with ``start``, ``end``,
``duration_s``) from the criterion's evidence and keeps only their part after the moment the
decision was implemented:

- the part of a run after ``implemented_at`` begins at its first sample at or after that
  moment (the run's samples counted from its ``start`` at its interval, the interval being
  ``duration_s`` minus ``end - start``), and its length is counted as the criterion counts a
  run: last sample minus first plus one interval; a run that began after the moment is
  judged whole;
- the criterion is met again when one such part passes the criterion's duration with the
  criterion's own comparator (``duration_comparator``: more than, or at least);
- ``insufficient_data`` and a missing result stay what they are (not evaluated); a result
  whose evidence lists no runs (``ram.swap``, ``ram.degradation``, planned services,
  complaints) or no duration keeps its outcome; a met result whose evidence lists only some
  of its counted runs (``runs_qualifying`` above the list) keeps ``met`` unless a listed run
  decides; a result met by one label while another label failed the gate is
  ``insufficient_data`` when no listed run is after the moment;
- when less time than the duration is left between the moment and the window's end, no run
  after it can pass the duration in this window: ``waiting``, left for the next review.

Pure: nothing here reads a database or a clock.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from infra_review.timeseries.runs import format_duration

UNKNOWN = ("insufficient_data", "missing")


def implemented_moment(at: datetime | None, implemented_on: date | None) -> datetime | None:
    """From when the data shows an implemented action: when the decision was marked
    implemented (the event's ``at``), or the start of the day after the date the person gave
    (``implemented_on``, the action was done some time that day) when that is earlier."""
    if at is None:
        return None
    moment = as_utc(at)
    if implemented_on is not None:
        day_after = datetime.combine(implemented_on + timedelta(days=1), time(), tzinfo=UTC)
        moment = min(moment, day_after)
    return moment


def as_utc(moment: datetime | str) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _duration_s(ev: dict[str, Any]) -> float | None:
    if ev.get("duration_threshold_h") is not None:
        return float(ev["duration_threshold_h"]) * 3600
    if ev.get("duration_threshold_min") is not None:
        return float(ev["duration_threshold_min"]) * 60
    return None


def passes(length_s: float, duration_s: float, inclusive: bool) -> bool:
    """The criterion's duration test: at least (``>=``) or more than (``>``)."""
    return length_s >= duration_s if inclusive else length_s > duration_s


def part_after(run: dict[str, Any], implemented_at: datetime) -> dict[str, Any] | None:
    """The part of ``run`` from its first sample at or after ``implemented_at``: ``from``,
    ``end`` and ``after_s`` (counted as the criterion counts a run), or None."""
    start, end = as_utc(run["start"]), as_utc(run["end"])
    interval = max(float(run["duration_s"]) - (end - start).total_seconds(), 0.0)
    first = start
    if start < implemented_at:
        behind = (implemented_at - start).total_seconds()
        steps = math.ceil(behind / interval - 1e-9) if interval > 0 else 0
        first = start + timedelta(seconds=steps * interval) if interval > 0 else implemented_at
    if first > end:
        return None
    return {
        "start": run["start"],
        "end": run["end"],
        "from": first.isoformat(),
        "after_s": (end - first).total_seconds() + interval,
    }


def judge_after(
    result: dict[str, Any] | None, implemented_at: datetime, window_end: datetime
) -> dict[str, Any]:
    """One trigger criterion judged after ``implemented_at`` (see the module doc):
    ``{"outcome": met | not_met | insufficient_data | missing | waiting, "how": ...}`` with
    the runs after the moment that pass the duration (``runs``) when there are any."""
    if result is None:
        return {"outcome": "missing", "how": "no result"}
    outcome = str(result.get("outcome"))
    if outcome in UNKNOWN:
        return {"outcome": outcome, "how": "review"}
    ev = result.get("evidence") or {}
    parts = ev["series"] if isinstance(ev.get("series"), list) else [ev]
    has_runs = any("qualifying_runs" in p or "carried_over_runs" in p for p in parts)
    duration = _duration_s(ev)
    if not has_runs or duration is None:
        return {"outcome": outcome, "how": "review (no runs in the evidence)"}
    inclusive = ev.get("duration_comparator", ">=") == ">="
    found, truncated, lacking = [], False, False
    for p in parts:
        listed = list(p.get("qualifying_runs") or [])
        truncated |= int(p.get("runs_qualifying") or 0) > len(listed)
        lacking |= (p.get("gate") or {}).get("passed") is False
        for run in listed + list(p.get("carried_over_runs") or []):
            after = part_after(run, implemented_at)
            if after and passes(after["after_s"], duration, inclusive):
                found.append({"label": p.get("label"), **after})
    found.sort(key=lambda r: -r["after_s"])
    if found:
        return {"outcome": "met", "how": "after", "runs": found[:5]}
    left = (window_end - implemented_at).total_seconds()
    if not passes(left, duration, inclusive):
        return {"outcome": "waiting", "how": "after", "left_s": max(left, 0.0), "need_s": duration}
    if truncated and outcome == "met":
        return {"outcome": "met", "how": "review (evidence lists only some runs)"}
    if lacking:
        return {"outcome": "insufficient_data", "how": "after (a series failed the gate)"}
    return {"outcome": "not_met", "how": "after", "met_before": outcome == "met"}


def when_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def run_texts(judged: dict[str, dict[str, Any]], ids: list[str]) -> tuple[str, str]:
    """The notes' words for each criterion met again after the implementation, in English
    and Russian: its id and its longest part after it, e.g. ``(30 h 0 min above from
    2026-04-05 10:00 UTC)``."""
    en, ru = [], []
    for c in ids:
        runs = judged[c].get("runs") or []
        if not runs:
            en.append(c)
            ru.append(c)
            continue
        run = runs[0]  # the longest part after the implementation
        since = when_text(as_utc(run["from"]))
        en.append(f"{c} ({format_duration(run['after_s'])} above from {since} UTC)")
        ru.append(f"{c} ({format_duration(run['after_s'], 'ru')} выше порога с {since} UTC)")
    return ", ".join(en), ", ".join(ru)
