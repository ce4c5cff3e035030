"""The inputs fingerprint: what a review read, so an identical rerun is told from a new review.

Documented fingerprint (version 1), a JSON document and the SHA-256 of its canonical form:
- ``criteria_sha256``: SHA-256 of criteria.yaml as loaded;
- ``files``: SHA-256 of each config file the review read (``fleet``, ``providers``; a missing
  file is ``null``);
- ``series``: per series (``server|metric|label``, or any stable key a review uses, such as
  ``invoices|hetzner``), ``[sample count, newest sample time (ISO, UTC) or null]``;
- ``extra``: any other small value the review's decision depends on (optional).
``newest_sample`` (the newest time over all series) is kept beside the digest, not in it twice.

Two reviews with the same digest read the same rules, the same fleet and provider files and
the same samples (a late import changes a count or a newest time), so their decisions are the
same: the later one confirms the current one instead of superseding it (``store.decisions``).
A changed value at an old timestamp with the same count is not seen; ``--recompute`` hashes
the values and does see it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

VERSION = 1


def file_sha256(path: str | Path | None) -> str | None:
    if path is None:
        return None
    p = Path(path)
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def _iso(ts: Any) -> str | None:
    if ts is None:
        return None
    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    if ts.tzinfo is None:
        raise ValueError("sample times in a fingerprint need a time zone")
    return ts.astimezone(UTC).isoformat()


def inputs_fingerprint(
    *,
    criteria_sha256: str,
    files: Mapping[str, str | Path | None] | None = None,
    series: Mapping[str, tuple[int, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The fingerprint document: ``{"version", "criteria_sha256", "files", "series", "extra",
    "newest_sample", "sha256"}``; pass it as ``ReviewRun(fingerprint=...)``."""
    doc: dict[str, Any] = {
        "version": VERSION,
        "criteria_sha256": criteria_sha256,
        "files": {k: file_sha256(v) for k, v in sorted((files or {}).items())},
        "series": {k: [int(n), _iso(ts)] for k, (n, ts) in sorted((series or {}).items())},
        "extra": dict(extra or {}),
    }
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    newest = max((v[1] for v in doc["series"].values() if v[1]), default=None)
    return {
        **doc,
        "newest_sample": newest,
        "sha256": hashlib.sha256(canonical.encode()).hexdigest(),
    }


def series_from_capacity_inputs(per_server: Mapping[str, Any]) -> dict[str, tuple[int, Any]]:
    """Series stats from a capacity review's stored ``inputs.per_server[*].fingerprints``."""
    out: dict[str, tuple[int, Any]] = {}
    for server, stored in sorted(per_server.items()):
        for key, fp in sorted((stored or {}).get("fingerprints", {}).items()):
            out[f"{server}|{key}"] = (int(fp.get("samples") or 0), fp.get("last"))
    return out


def sample_stats(
    conn, start: datetime, end: datetime, servers=None, metrics=None
) -> dict[str, tuple[int, datetime | None]]:
    """Per series in the window: sample count and newest sample time (one grouped query)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT se.server, se.metric, se.label, count(s.ts), max(s.ts)
               FROM infra_review.series se
               JOIN infra_review.samples s ON s.series_id = se.series_id
                    AND s.ts >= %(start)s AND s.ts < %(end)s
               WHERE (%(servers)s::text[] IS NULL OR se.server = ANY(%(servers)s))
                 AND (%(metrics)s::text[] IS NULL OR se.metric = ANY(%(metrics)s))
               GROUP BY se.server, se.metric, se.label""",
            {
                "start": start,
                "end": end,
                "servers": list(servers) if servers is not None else None,
                "metrics": list(metrics) if metrics is not None else None,
            },
        )
        return {f"{s}|{m}|{lab}": (int(n), ts) for s, m, lab, n, ts in cur.fetchall()}


def read_marker(conn, start: datetime, end: datetime, *, at_transaction_start: bool = False):
    """Taken when a review starts reading: the database time and the load batches over the
    window it can see. ``reporting.current_decisions.inputs_changed_since`` compares them
    with the batches seen later, so a late import is flagged. Database time on purpose:
    ``load_batches.loaded_at`` is stamped by the database.

    ``at_transaction_start``: the marker as of the start of the caller's transaction (a
    runner that read its inputs in that transaction, when it took no marker before reading):
    batches stamped later are left out, so they show up as changes."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT CASE WHEN %s THEN now() ELSE clock_timestamp() END,
                      count(*)::int, max(loaded_at)
               FROM infra_review.load_batches
               WHERE window_start < %s AND window_end > %s
                 AND (NOT %s OR loaded_at <= now())""",
            (at_transaction_start, end, start, at_transaction_start),
        )
        read_at, n, last = cur.fetchone()
    return {"read_at": read_at, "batches": n, "last_loaded_at": last}


def json_sha256(doc: Any) -> str:
    """SHA-256 of a JSON document in canonical form (sorted keys, no spaces)."""
    from infra_review.criteria.result import json_safe

    canonical = json.dumps(json_safe(doc), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


_PROVIDER_EVIDENCE = """
    SELECT
      (SELECT md5(coalesce(string_agg(concat_ws('|', provider, month, line_item, amount, currency),
                                      E'\\n' ORDER BY provider, month, line_item), ''))
       FROM infra_review.invoices WHERE provider = ANY(%(providers)s)),
      (SELECT md5(coalesce(string_agg(concat_ws('|', month, currency, base, rate),
                                      E'\\n' ORDER BY month, currency, base), ''))
       FROM infra_review.exchange_rates),
      (SELECT md5(coalesce(string_agg(concat_ws('|', provider, opened_at, first_response_at,
                                                resolved_at), E'\\n' ORDER BY provider, opened_at), ''))
       FROM infra_review.support_tickets WHERE provider = ANY(%(providers)s))"""


def provider_fingerprint(conn, run) -> dict[str, Any]:
    """A provider review's fingerprint read from the database: its config files, a digest of
    the invoices, rates and tickets of the providers it compared, and the probe series of the
    window. Conservative: any change to that evidence makes a new review supersede."""
    inputs = run.inputs or {}
    providers = sorted(inputs.get("providers") or [])
    with conn.cursor() as cur:
        cur.execute(_PROVIDER_EVIDENCE, {"providers": providers})
        invoices, rates, tickets = cur.fetchone()
    return inputs_fingerprint(
        criteria_sha256=run.criteria_sha256,
        files={
            "providers": (inputs.get("providers_yaml") or {}).get("path"),
            "fleet": inputs.get("fleet_yaml"),
        },
        series=sample_stats(conn, run.window_start, run.window_end, metrics=["probe_up"]),
        extra={
            "inputs_sha256": json_sha256(inputs),
            "invoices_md5": invoices,
            "rates_md5": rates,
            "tickets_md5": tickets,
        },
    )
