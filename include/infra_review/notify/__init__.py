"""One message per review to the team (Telegram and e-mail), when a review creates or changes
a decision that asks for action, or finds an implemented one not confirmed.

``notify_review(run_id)`` is what a review calls after its records are committed; it never
raises (a failed channel is retried, then logged)."""

from infra_review.notify.send import notify_review

__all__ = ["notify_review"]
