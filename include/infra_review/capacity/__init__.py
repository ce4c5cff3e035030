"""The quarterly capacity review (seed section 02.04.04, "Технические критерии upgrade"):
orchestration, decisions with ru/en summaries, and the report. The criteria themselves are
pure functions in ``infra_review.criteria.capacity`` and ``criteria.capacity_fleet``."""
