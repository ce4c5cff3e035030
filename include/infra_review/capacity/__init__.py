"""The quarterly capacity review (seed section 02.04.04, "Технические критерии upgrade"):
the criteria (``capacity.criteria``: one module per group), the decision rule, the review
steps and the report."""
