-- 002: collection from real sources and the quality gate.

-- The cadence a series' source promises, in seconds: the Prometheus query step, or the collect
-- schedule for present-time sources (Redis, HTTP probes, psutil) that read once per run.
-- NULL means the server's scrape interval from fleet.yaml. The review-time gate divides the
-- window by it to get the expected number of samples.
ALTER TABLE infra_review.series ADD COLUMN cadence_s integer CHECK (cadence_s > 0);
COMMENT ON COLUMN infra_review.series.cadence_s IS
    'seconds between expected samples; NULL = the server''s scrape interval in fleet.yaml';

-- Which register a planned service came from (a CSV file or a table named in fleet.yaml), so a
-- row the team deletes from its register is deleted here too. NULL: imported by hand.
ALTER TABLE infra_review.planned_services ADD COLUMN source text;

CREATE INDEX quarantine_series_ts_idx ON infra_review.quarantine (server, metric, ts);
CREATE INDEX quality_results_window_idx ON infra_review.quality_results (window_start, window_end);
