"""`make demo`: review the sample quarter's capacity and print the decisions with evidence."""

from __future__ import annotations


def demo_step(ctx: dict) -> None:
    from infra_review.capacity.outcome import format_review
    from infra_review.capacity.runner import run_capacity_review

    review = run_capacity_review(ctx["quarter"], triggered_by="make demo")
    print("   " + format_review(review).replace("\n", "\n   "))
    print(f"   decisions: infra-review decisions --quarter {ctx['quarter']} --type capacity")
