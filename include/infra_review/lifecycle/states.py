"""The lifecycle of a decision that asks for action (GCP Recommender's states as the anchor).

proposed -> accepted | dismissed -> implemented -> confirmed | not_confirmed. People move a
decision through the first three; the next review sets the last two from the data. Pure: the
store and the CLI refuse what ``check_transition`` refuses, with its message.
"""

from __future__ import annotations

from infra_review.errors import InputError

# Decisions that ask someone to do something; they get a lifecycle state.
ACTION_DECISIONS = frozenset(
    {"upgrade_ram", "upgrade_cpu", "add_server", "migrate", "evaluate_migration"}
)
# Decisions a notification goes out for (insufficient_data asks someone to fix the data).
NOTIFY_DECISIONS = ACTION_DECISIONS | {"insufficient_data"}

STATES = ("proposed", "accepted", "dismissed", "implemented", "confirmed", "not_confirmed")
# command -> (states it may start from, state it sets)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "accept": (frozenset({"proposed", "dismissed"}), "accepted"),
    "dismiss": (frozenset({"proposed", "accepted"}), "dismissed"),
    "implemented": (frozenset({"accepted"}), "implemented"),
}
# The ADR status a person's choice implies (decisions.status keeps its 001 meaning).
STATUS_FOR_STATE = {"accepted": "accepted", "dismissed": "rejected"}


def asks_for_action(decision: str, actions: list[str] | None = None) -> bool:
    return decision in ACTION_DECISIONS or any(a in ACTION_DECISIONS for a in actions or [])


def check_transition(decision_id: int, decision: str, state: str | None, command: str) -> str:
    """The new state for ``command``, or an InputError that says why it is refused."""
    if command not in TRANSITIONS:
        raise InputError(
            f"unknown command {command!r}; use one of {', '.join(TRANSITIONS)}", field="command"
        )
    allowed, target = TRANSITIONS[command]
    if state is None:
        raise InputError(
            f"decision {decision_id} ({decision}) asks for no action, so it has no lifecycle",
            field="decision_id",
        )
    if state not in allowed:
        raise InputError(
            f"decision {decision_id} is {state}: '{command}' is allowed only from "
            f"{' or '.join(sorted(allowed))}",
            field="state",
        )
    return target
