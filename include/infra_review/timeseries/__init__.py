"""Time-series machinery every review shares, apart from any criterion: cleaning and runs
(``runs``: the gap rule, longest runs, durations) and hourly/daily buckets with linear trends
(``trend``). Pure numpy; nothing here knows a criterion, a database or a clock."""
