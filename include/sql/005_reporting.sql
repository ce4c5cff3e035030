-- 005: the BI surface. Stable, commented views in schema `reporting` that a BI tool reads as
-- role bi_reader (which may read these views and nothing else), plus two small reference
-- tables the views need and that only config files know: the criteria texts and thresholds
-- (criteria.yaml) and each server's scrape interval (fleet.yaml). `infra-review reporting sync`
-- fills them (infra_review.reporting.catalog); a review run's own criteria snapshot wins.
--
-- Rules for the views: every column has a COMMENT (docs/reporting.md is generated from them);
-- JSON evidence is flattened with type checks, so one odd evidence document yields NULLs
-- instead of breaking the whole view for every BI user.

-- Reference: criteria.yaml, one row per criterion per file version (by SHA-256).
CREATE TABLE infra_review.criteria_catalog (
    criteria_sha256  text NOT NULL,
    criteria_version text NOT NULL,
    criterion_id     text NOT NULL,
    review_type      text NOT NULL,
    criterion_group  text NOT NULL,
    text_ru          text NOT NULL,
    text_en          text NOT NULL,
    metric           text,
    comparator       text,
    threshold        double precision,
    default_source   text,
    params           jsonb NOT NULL DEFAULT '{}',
    synced_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (criteria_sha256, criterion_id)
);

-- Reference: fleet.yaml scrape intervals, for the expected sample count of a week.
CREATE TABLE infra_review.server_scrape_intervals (
    server            text PRIMARY KEY,
    scrape_interval_s integer NOT NULL CHECK (scrape_interval_s > 0),
    synced_at         timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- The two views from 001, with columns appended (names, order and types of the 001 columns
-- unchanged, so a saved BI query keeps working).

CREATE OR REPLACE VIEW reporting.current_decisions AS
SELECT d.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject, d.decision, d.status,
       d.summary_en, d.summary_ru, r.window_start, r.window_end, r.criteria_version,
       r.dag_id, r.dag_run_id, r.report_path, d.created_at,
       r.run_id,
       make_timestamptz(substr(d.quarter, 1, 4)::int, (substr(d.quarter, 6, 1)::int - 1) * 3 + 1,
                        1, 0, 0, 0, 'UTC') AS quarter_start,
       c.criteria_met,
       coalesce(c.met_count, 0) AS criteria_met_count,
       coalesce(c.not_met_count, 0) AS criteria_not_met_count,
       coalesce(c.insufficient_count, 0) AS criteria_insufficient_count,
       r.triggered_by
FROM infra_review.decisions d
JOIN infra_review.review_runs r USING (run_id)
LEFT JOIN LATERAL (
    SELECT string_agg(cr.criterion_id, ', ' ORDER BY cr.criterion_id)
               FILTER (WHERE cr.outcome = 'met') AS criteria_met,
           count(*) FILTER (WHERE cr.outcome = 'met') AS met_count,
           count(*) FILTER (WHERE cr.outcome = 'not_met') AS not_met_count,
           count(*) FILTER (WHERE cr.outcome = 'insufficient_data') AS insufficient_count
    FROM infra_review.criterion_results cr
    WHERE cr.decision_id = d.decision_id
) c ON true
WHERE d.status <> 'superseded';

CREATE OR REPLACE VIEW reporting.decision_history AS
SELECT d.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject, d.decision, d.status,
       d.superseded_by, d.summary_en, d.summary_ru, r.run_id, r.dag_run_id, r.criteria_version,
       d.created_at,
       r.dag_id,
       make_timestamptz(substr(d.quarter, 1, 4)::int, (substr(d.quarter, 6, 1)::int - 1) * 3 + 1,
                        1, 0, 0, 0, 'UTC') AS quarter_start,
       r.window_start, r.window_end,
       d.status <> 'superseded' AS is_current,
       n.decision AS superseded_by_decision,
       n.created_at AS superseded_at,
       (SELECT array_agg(o.decision_id ORDER BY o.decision_id)
        FROM infra_review.decisions o WHERE o.superseded_by = d.decision_id) AS supersedes,
       r.report_path,
       r.triggered_by
FROM infra_review.decisions d
JOIN infra_review.review_runs r USING (run_id)
LEFT JOIN infra_review.decisions n ON n.decision_id = d.superseded_by;

-- ---------------------------------------------------------------------------------------------

CREATE VIEW reporting.review_runs AS
SELECT r.run_id, r.review_type, r.quarter,
       make_timestamptz(substr(r.quarter, 1, 4)::int, (substr(r.quarter, 6, 1)::int - 1) * 3 + 1,
                        1, 0, 0, 0, 'UTC') AS quarter_start,
       r.window_start, r.window_end, r.dag_id, r.dag_run_id, r.triggered_by,
       r.criteria_version, r.criteria_sha256,
       CASE WHEN jsonb_typeof(r.quality_verdict -> 'success') = 'boolean'
            THEN (r.quality_verdict ->> 'success')::boolean END AS quality_passed,
       (SELECT count(*) FROM infra_review.decisions d WHERE d.run_id = r.run_id) AS decisions,
       (SELECT count(*) FROM infra_review.decisions d
        WHERE d.run_id = r.run_id AND d.status <> 'superseded') AS current_decisions,
       r.report_path, r.created_at
FROM infra_review.review_runs r;

CREATE VIEW reporting.criteria AS
SELECT c.criterion_id, c.review_type, c.criterion_group, c.text_en, c.text_ru, c.metric,
       c.comparator, c.threshold, c.default_source, c.criteria_version, c.criteria_sha256,
       c.synced_at = max(c.synced_at) OVER (PARTITION BY c.criterion_id) AS is_latest,
       c.synced_at
FROM infra_review.criteria_catalog c;

CREATE VIEW reporting.criterion_results AS
SELECT cr.run_id, cr.decision_id, r.review_type, r.quarter,
       make_timestamptz(substr(r.quarter, 1, 4)::int, (substr(r.quarter, 6, 1)::int - 1) * 3 + 1,
                        1, 0, 0, 0, 'UTC') AS quarter_start,
       cr.subject, cr.criterion_id,
       coalesce(cat.criterion_group, snap.rule ->> 'group', latest.criterion_group)
           AS criterion_group,
       coalesce(cat.text_en, snap.rule ->> 'text_en', latest.text_en) AS text_en,
       coalesce(cat.text_ru, snap.rule ->> 'text_ru', latest.text_ru) AS text_ru,
       cr.outcome,
       cr.outcome = 'met' AS is_met,
       cr.observed, cr.threshold,
       CASE WHEN jsonb_typeof(cr.evidence -> 'comparator') = 'string'
            THEN cr.evidence ->> 'comparator' END AS comparator,
       CASE WHEN jsonb_typeof(cr.evidence -> 'metric') = 'string'
            THEN cr.evidence ->> 'metric' END AS metric,
       CASE WHEN jsonb_typeof(cr.evidence -> 'label') = 'string'
            THEN cr.evidence ->> 'label' END AS label,
       cr.window_start, cr.window_end,
       CASE WHEN jsonb_typeof(cr.evidence -> 'samples') = 'number'
            THEN (cr.evidence ->> 'samples')::double precision END AS samples,
       CASE WHEN jsonb_typeof(cr.evidence -> 'coverage') = 'number'
            THEN (cr.evidence ->> 'coverage')::double precision END AS coverage,
       CASE WHEN (cr.evidence -> 'longest_run' ->> 'start') ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}'
            THEN (cr.evidence -> 'longest_run' ->> 'start')::timestamptz END AS longest_run_start,
       CASE WHEN (cr.evidence -> 'longest_run' ->> 'end') ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}'
            THEN (cr.evidence -> 'longest_run' ->> 'end')::timestamptz END AS longest_run_end,
       CASE WHEN jsonb_typeof(cr.evidence -> 'longest_run' -> 'duration_s') = 'number'
            THEN (cr.evidence -> 'longest_run' ->> 'duration_s')::double precision / 3600
       END AS longest_run_hours,
       CASE WHEN jsonb_typeof(cr.evidence -> 'longest_run' -> 'peak') = 'number'
            THEN (cr.evidence -> 'longest_run' ->> 'peak')::double precision END AS longest_run_peak,
       CASE WHEN jsonb_typeof(cr.evidence -> 'longest_run' -> 'samples') = 'number'
            THEN (cr.evidence -> 'longest_run' ->> 'samples')::double precision
       END AS longest_run_samples,
       coalesce(
           CASE WHEN jsonb_typeof(cr.evidence -> 'reason') = 'string'
                THEN cr.evidence ->> 'reason' END,
           (SELECT string_agg(x, '; ')
            FROM jsonb_array_elements_text(
                CASE WHEN jsonb_typeof(cr.evidence -> 'insufficient' -> 'reasons') = 'array'
                     THEN cr.evidence -> 'insufficient' -> 'reasons' END) AS x)
       ) AS reason,
       d.decision, d.status AS decision_status, d.status <> 'superseded' AS is_current,
       r.criteria_version, r.dag_id, r.dag_run_id,
       cr.evidence
FROM infra_review.criterion_results cr
JOIN infra_review.review_runs r USING (run_id)
LEFT JOIN infra_review.decisions d ON d.decision_id = cr.decision_id
LEFT JOIN infra_review.criteria_catalog cat
       ON cat.criteria_sha256 = r.criteria_sha256 AND cat.criterion_id = cr.criterion_id
LEFT JOIN LATERAL (
    SELECT CASE WHEN jsonb_typeof(r.inputs -> 'criteria' -> 'rules' -> cr.criterion_id) = 'object'
                THEN r.inputs -> 'criteria' -> 'rules' -> cr.criterion_id END AS rule
) snap ON true
LEFT JOIN LATERAL (
    SELECT l.criterion_group, l.text_en, l.text_ru FROM infra_review.criteria_catalog l
    WHERE l.criterion_id = cr.criterion_id ORDER BY l.synced_at DESC LIMIT 1
) latest ON true;

-- Which criterion's threshold a capacity metric is drawn against (ids are stable; the numbers
-- come from criteria.yaml through the catalog).
CREATE VIEW reporting.capacity_weekly AS
WITH thresholds AS (
    SELECT DISTINCT ON (m.metric) m.metric, m.criterion_id, c.threshold
    FROM (VALUES ('ram_used_pct', 'ram.sustained'), ('cpu_used_pct', 'cpu.sustained'),
                 ('swap_io_pages_per_s', 'ram.swap'), ('api_latency_s', 'cpu.api_latency'),
                 ('n8n_queue_waiting', 'cpu.n8n_queue')) AS m (metric, criterion_id)
    JOIN infra_review.criteria_catalog c ON c.criterion_id = m.criterion_id
    ORDER BY m.metric, c.synced_at DESC
)
SELECT w.server, w.metric, w.label, m.unit,
       to_char(w.quarter_start AT TIME ZONE 'UTC', 'YYYY"Q"Q') AS quarter, w.quarter_start,
       w.week_start, w.week_end,
       w.week_end <= now() AS complete,
       w.samples,
       e.expected AS expected_samples,
       least(1.0, w.samples::double precision / nullif(e.expected, 0)) AS coverage,
       w.p50, w.p95, w.max,
       t.threshold, t.criterion_id AS threshold_criterion_id,
       w.interval_s
FROM (
    -- One level of GROUP BY over the join, so a filter on server or metric reaches the
    -- series lookup and the samples are read by their primary key, series by series.
    SELECT r.server, r.metric, r.label,
           coalesce(r.cadence_s, si.scrape_interval_s, 60) AS interval_s,
           date_trunc('quarter', s.ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS quarter_start,
           greatest(date_trunc('week', s.ts AT TIME ZONE 'UTC'),
                    date_trunc('quarter', s.ts AT TIME ZONE 'UTC')) AT TIME ZONE 'UTC'
               AS week_start,
           least(date_trunc('week', s.ts AT TIME ZONE 'UTC') + interval '7 days',
                 date_trunc('quarter', s.ts AT TIME ZONE 'UTC') + interval '3 months')
               AT TIME ZONE 'UTC' AS week_end,
           count(*) AS samples,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY s.value) AS p50,
           percentile_cont(0.95) WITHIN GROUP (ORDER BY s.value) AS p95,
           max(s.value) AS max
    FROM infra_review.samples s
    JOIN infra_review.series r USING (series_id)
    LEFT JOIN infra_review.server_scrape_intervals si ON si.server = r.server
    GROUP BY 1, 2, 3, 4, 5, 6, 7
) w
JOIN infra_review.metrics m ON m.metric = w.metric
LEFT JOIN thresholds t ON t.metric = w.metric
CROSS JOIN LATERAL (
    SELECT floor(extract(epoch FROM least(w.week_end, greatest(now(), w.week_start))
                                    - w.week_start) / w.interval_s)::bigint AS expected
) e;

CREATE VIEW reporting.provider_monthly_costs AS
WITH latest AS (
    SELECT max(quarter) AS quarter FROM infra_review.decisions
    WHERE review_type = 'provider' AND status <> 'superseded'
)
SELECT d.quarter, s.provider, s.role, s.recommended,
       to_date(m.key, 'YYYY-MM') AS month,
       to_date(m.key, 'YYYY-MM')::timestamp AT TIME ZONE 'UTC' AS month_start,
       (m.value #>> '{}')::numeric(16, 2) AS amount,
       s.currency,
       d.quarter = (SELECT quarter FROM latest) AS is_latest_review,
       d.decision_id, r.dag_run_id
FROM infra_review.provider_scorecards s
JOIN infra_review.review_runs r USING (run_id)
JOIN infra_review.decisions d ON d.run_id = s.run_id AND d.review_type = 'provider'
CROSS JOIN LATERAL jsonb_each(
    CASE WHEN jsonb_typeof(s.monthly_costs) = 'object' THEN s.monthly_costs END) AS m
WHERE d.status <> 'superseded'
  AND m.key ~ '^\d{4}-(0[1-9]|1[0-2])$'
  AND jsonb_typeof(m.value) = 'number';

CREATE VIEW reporting.quality_results AS
SELECT q.batch_key, q.suite,
       coalesce(b.source, CASE WHEN q.batch_key LIKE 'review:%' THEN 'review' END) AS source,
       q.window_start, q.window_end, q.success,
       CASE WHEN jsonb_typeof(q.statistics -> 'evaluated_expectations') = 'number'
            THEN (q.statistics ->> 'evaluated_expectations')::int END AS evaluated_expectations,
       CASE WHEN jsonb_typeof(q.statistics -> 'successful_expectations') = 'number'
            THEN (q.statistics ->> 'successful_expectations')::int END AS successful_expectations,
       CASE WHEN jsonb_typeof(q.statistics -> 'unsuccessful_expectations') = 'number'
            THEN (q.statistics ->> 'unsuccessful_expectations')::int
       END AS unsuccessful_expectations,
       CASE WHEN jsonb_typeof(q.statistics -> 'success_percent') = 'number'
            THEN (q.statistics ->> 'success_percent')::double precision END AS success_percent,
       (SELECT string_agg(DISTINCT e ->> 'expectation', ', ')
        FROM jsonb_array_elements(CASE WHEN jsonb_typeof(q.results) = 'array'
                                       THEN q.results END) AS e
        WHERE jsonb_typeof(e) = 'object' AND jsonb_typeof(e -> 'expectation') = 'string')
           AS failed_expectations,
       b.rows_in, b.rows_loaded, b.rows_quarantined,
       q.data_docs_url, q.validated_at
FROM infra_review.quality_results q
LEFT JOIN infra_review.load_batches b USING (batch_key);

-- ---------------------------------------------------------------------------------------------
-- Comments: every view and every column. English; the seed's Russian text is a column.

COMMENT ON VIEW reporting.current_decisions IS
    'The current (not superseded) decision per review type, quarter and subject, with a count of its criteria by outcome.';
COMMENT ON COLUMN reporting.current_decisions.decision_id IS 'Decision record id (stable; links to decision_history and criterion_results).';
COMMENT ON COLUMN reporting.current_decisions.review_type IS 'capacity or provider.';
COMMENT ON COLUMN reporting.current_decisions.quarter IS 'Reviewed quarter, for example 2026Q3.';
COMMENT ON COLUMN reporting.current_decisions.subject_kind IS 'What the decision is about: server, fleet or provider.';
COMMENT ON COLUMN reporting.current_decisions.subject IS 'Server name (fleet.yaml), "fleet", or the provider id.';
COMMENT ON COLUMN reporting.current_decisions.decision IS
    'capacity: upgrade_ram, upgrade_cpu, add_server, watch, no_action, insufficient_data; provider: stay, evaluate_migration, migrate.';
COMMENT ON COLUMN reporting.current_decisions.status IS
    'proposed, accepted or rejected (superseded records are in decision_history).';
COMMENT ON COLUMN reporting.current_decisions.summary_en IS 'One-paragraph outcome in English.';
COMMENT ON COLUMN reporting.current_decisions.summary_ru IS 'The same outcome in Russian.';
COMMENT ON COLUMN reporting.current_decisions.window_start IS 'Start of the reviewed window (UTC, inclusive).';
COMMENT ON COLUMN reporting.current_decisions.window_end IS 'End of the reviewed window (UTC, exclusive).';
COMMENT ON COLUMN reporting.current_decisions.criteria_version IS 'Version of criteria.yaml the review used.';
COMMENT ON COLUMN reporting.current_decisions.dag_id IS 'Airflow DAG that made the decision (NULL when run from the command line).';
COMMENT ON COLUMN reporting.current_decisions.dag_run_id IS 'Airflow DAG run id; the run''s page is /dags/<dag_id>/runs/<dag_run_id> in the Airflow UI.';
COMMENT ON COLUMN reporting.current_decisions.report_path IS 'File path of the review report on the Airflow host (served by the Capacity decisions page).';
COMMENT ON COLUMN reporting.current_decisions.created_at IS 'When the decision record was written.';
COMMENT ON COLUMN reporting.current_decisions.run_id IS 'Review run id (reporting.review_runs).';
COMMENT ON COLUMN reporting.current_decisions.quarter_start IS 'First instant of the quarter (UTC): a time axis for BI tools.';
COMMENT ON COLUMN reporting.current_decisions.criteria_met IS 'Ids of the criteria met, comma-separated (the decision''s drivers).';
COMMENT ON COLUMN reporting.current_decisions.criteria_met_count IS 'Number of criteria met.';
COMMENT ON COLUMN reporting.current_decisions.criteria_not_met_count IS 'Number of criteria not met.';
COMMENT ON COLUMN reporting.current_decisions.criteria_insufficient_count IS 'Number of criteria without enough data to decide.';
COMMENT ON COLUMN reporting.current_decisions.triggered_by IS 'Who or what started the review: a user name, "scheduled", or the CLI.';

COMMENT ON VIEW reporting.decision_history IS
    'Every decision record ever written, superseded ones included, with links both ways between a record and the one that replaced it.';
COMMENT ON COLUMN reporting.decision_history.decision_id IS 'Decision record id.';
COMMENT ON COLUMN reporting.decision_history.review_type IS 'capacity or provider.';
COMMENT ON COLUMN reporting.decision_history.quarter IS 'Reviewed quarter, for example 2026Q3.';
COMMENT ON COLUMN reporting.decision_history.subject_kind IS 'server, fleet or provider.';
COMMENT ON COLUMN reporting.decision_history.subject IS 'Server name, "fleet", or the provider id.';
COMMENT ON COLUMN reporting.decision_history.decision IS 'The decision this record made (see current_decisions.decision).';
COMMENT ON COLUMN reporting.decision_history.status IS 'proposed, accepted, rejected or superseded.';
COMMENT ON COLUMN reporting.decision_history.superseded_by IS 'decision_id of the record that replaced this one (a rerun of the same quarter); NULL while current.';
COMMENT ON COLUMN reporting.decision_history.summary_en IS 'Outcome in English.';
COMMENT ON COLUMN reporting.decision_history.summary_ru IS 'Outcome in Russian.';
COMMENT ON COLUMN reporting.decision_history.run_id IS 'Review run id (reporting.review_runs).';
COMMENT ON COLUMN reporting.decision_history.dag_run_id IS 'Airflow DAG run id that wrote the record.';
COMMENT ON COLUMN reporting.decision_history.criteria_version IS 'Version of criteria.yaml the review used.';
COMMENT ON COLUMN reporting.decision_history.created_at IS 'When the record was written.';
COMMENT ON COLUMN reporting.decision_history.dag_id IS 'Airflow DAG that wrote the record.';
COMMENT ON COLUMN reporting.decision_history.quarter_start IS 'First instant of the quarter (UTC).';
COMMENT ON COLUMN reporting.decision_history.window_start IS 'Start of the reviewed window (UTC, inclusive).';
COMMENT ON COLUMN reporting.decision_history.window_end IS 'End of the reviewed window (UTC, exclusive).';
COMMENT ON COLUMN reporting.decision_history.is_current IS 'True for the record that is current (not superseded).';
COMMENT ON COLUMN reporting.decision_history.superseded_by_decision IS 'The decision of the record that replaced this one.';
COMMENT ON COLUMN reporting.decision_history.superseded_at IS 'When the replacing record was written.';
COMMENT ON COLUMN reporting.decision_history.supersedes IS 'decision_ids of the earlier records this one replaced (NULL when none).';
COMMENT ON COLUMN reporting.decision_history.report_path IS 'File path of the review report on the Airflow host.';
COMMENT ON COLUMN reporting.decision_history.triggered_by IS 'Who or what started the review.';

COMMENT ON VIEW reporting.review_runs IS
    'One row per review run (a DAG run or a CLI run): its window, criteria version, data-quality verdict and how many of its decisions are still current.';
COMMENT ON COLUMN reporting.review_runs.run_id IS 'Review run id.';
COMMENT ON COLUMN reporting.review_runs.review_type IS 'capacity or provider.';
COMMENT ON COLUMN reporting.review_runs.quarter IS 'Reviewed quarter.';
COMMENT ON COLUMN reporting.review_runs.quarter_start IS 'First instant of the quarter (UTC).';
COMMENT ON COLUMN reporting.review_runs.window_start IS 'Start of the reviewed window (UTC, inclusive).';
COMMENT ON COLUMN reporting.review_runs.window_end IS 'End of the reviewed window (UTC, exclusive).';
COMMENT ON COLUMN reporting.review_runs.dag_id IS 'Airflow DAG id (NULL for a CLI run).';
COMMENT ON COLUMN reporting.review_runs.dag_run_id IS 'Airflow DAG run id (NULL for a CLI run).';
COMMENT ON COLUMN reporting.review_runs.triggered_by IS 'Who or what started the review.';
COMMENT ON COLUMN reporting.review_runs.criteria_version IS 'Version of criteria.yaml used.';
COMMENT ON COLUMN reporting.review_runs.criteria_sha256 IS 'SHA-256 of the criteria.yaml used (the exact rules).';
COMMENT ON COLUMN reporting.review_runs.quality_passed IS 'Whether the data-quality verdict for the window passed (NULL when the review did not record one).';
COMMENT ON COLUMN reporting.review_runs.decisions IS 'Decision records this run wrote.';
COMMENT ON COLUMN reporting.review_runs.current_decisions IS 'Of those, how many are still current (a later rerun supersedes them).';
COMMENT ON COLUMN reporting.review_runs.report_path IS 'File path of the review report on the Airflow host.';
COMMENT ON COLUMN reporting.review_runs.created_at IS 'When the run was recorded.';

COMMENT ON VIEW reporting.criteria IS
    'The decision criteria of seed section 02.04.04 as configured in criteria.yaml, one row per criterion per file version (filled by `infra-review reporting sync`).';
COMMENT ON COLUMN reporting.criteria.criterion_id IS 'Stable criterion id, for example ram.sustained.';
COMMENT ON COLUMN reporting.criteria.review_type IS 'capacity or provider.';
COMMENT ON COLUMN reporting.criteria.criterion_group IS 'ram, cpu, server, fin, tech or strat.';
COMMENT ON COLUMN reporting.criteria.text_en IS 'What the criterion says, in English.';
COMMENT ON COLUMN reporting.criteria.text_ru IS 'The seed''s Russian text of the criterion, verbatim.';
COMMENT ON COLUMN reporting.criteria.metric IS 'Canonical metric the criterion reads, where it reads one.';
COMMENT ON COLUMN reporting.criteria.comparator IS 'How observed is compared with threshold: >, >=, <, <=.';
COMMENT ON COLUMN reporting.criteria.threshold IS 'Threshold in the metric''s unit (or a ratio or share, see the criterion).';
COMMENT ON COLUMN reporting.criteria.default_source IS 'seed: the number is the seed''s; ours: the seed gives none, this default is the project''s.';
COMMENT ON COLUMN reporting.criteria.criteria_version IS 'criteria.yaml version.';
COMMENT ON COLUMN reporting.criteria.criteria_sha256 IS 'SHA-256 of that criteria.yaml.';
COMMENT ON COLUMN reporting.criteria.is_latest IS 'True for the most recently synced version of this criterion.';
COMMENT ON COLUMN reporting.criteria.synced_at IS 'When this version was loaded from criteria.yaml.';

COMMENT ON VIEW reporting.criterion_results IS
    'Every criterion evaluated in every review run, with its evidence flattened into filterable columns; the full evidence is in the last column.';
COMMENT ON COLUMN reporting.criterion_results.run_id IS 'Review run id.';
COMMENT ON COLUMN reporting.criterion_results.decision_id IS 'Decision record this result backs.';
COMMENT ON COLUMN reporting.criterion_results.review_type IS 'capacity or provider.';
COMMENT ON COLUMN reporting.criterion_results.quarter IS 'Reviewed quarter.';
COMMENT ON COLUMN reporting.criterion_results.quarter_start IS 'First instant of the quarter (UTC): a time axis for "criteria met over time".';
COMMENT ON COLUMN reporting.criterion_results.subject IS 'Server name, "fleet", or the provider id.';
COMMENT ON COLUMN reporting.criterion_results.criterion_id IS 'Criterion id, for example ram.sustained.';
COMMENT ON COLUMN reporting.criterion_results.criterion_group IS 'ram, cpu, server, fin, tech or strat.';
COMMENT ON COLUMN reporting.criterion_results.text_en IS 'The criterion in English.';
COMMENT ON COLUMN reporting.criterion_results.text_ru IS 'The seed''s Russian text of the criterion.';
COMMENT ON COLUMN reporting.criterion_results.outcome IS 'met, not_met or insufficient_data.';
COMMENT ON COLUMN reporting.criterion_results.is_met IS 'True when outcome is met (handy for sums).';
COMMENT ON COLUMN reporting.criterion_results.observed IS 'The observed value the criterion compared (hours, percent, seconds, ratio: see the criterion).';
COMMENT ON COLUMN reporting.criterion_results.threshold IS 'The threshold it was compared with, in the same unit.';
COMMENT ON COLUMN reporting.criterion_results.comparator IS 'How observed was compared with the value threshold, from the evidence.';
COMMENT ON COLUMN reporting.criterion_results.metric IS 'Canonical metric read, from the evidence (NULL for criteria that read no metric).';
COMMENT ON COLUMN reporting.criterion_results.label IS 'Series label that decided the result (endpoint, queue), from the evidence.';
COMMENT ON COLUMN reporting.criterion_results.window_start IS 'Start of the evaluated window (UTC, inclusive).';
COMMENT ON COLUMN reporting.criterion_results.window_end IS 'End of the evaluated window (UTC, exclusive).';
COMMENT ON COLUMN reporting.criterion_results.samples IS 'Samples used, from the evidence.';
COMMENT ON COLUMN reporting.criterion_results.coverage IS 'Share of expected samples present (0 to 1), from the evidence.';
COMMENT ON COLUMN reporting.criterion_results.longest_run_start IS 'Start of the longest run above the threshold (sustained-usage and queue criteria).';
COMMENT ON COLUMN reporting.criterion_results.longest_run_end IS 'End of that run.';
COMMENT ON COLUMN reporting.criterion_results.longest_run_hours IS 'Length of that run in hours.';
COMMENT ON COLUMN reporting.criterion_results.longest_run_peak IS 'Peak value during that run.';
COMMENT ON COLUMN reporting.criterion_results.longest_run_samples IS 'Samples in that run.';
COMMENT ON COLUMN reporting.criterion_results.reason IS 'Why the result is what it is when the evidence gives a reason (for example why data was insufficient).';
COMMENT ON COLUMN reporting.criterion_results.decision IS 'The decision this result backs.';
COMMENT ON COLUMN reporting.criterion_results.decision_status IS 'Status of that decision record (superseded for an earlier run).';
COMMENT ON COLUMN reporting.criterion_results.is_current IS 'True when the decision is current (filter on it to ignore reruns).';
COMMENT ON COLUMN reporting.criterion_results.criteria_version IS 'Version of criteria.yaml used.';
COMMENT ON COLUMN reporting.criterion_results.dag_id IS 'Airflow DAG id of the run.';
COMMENT ON COLUMN reporting.criterion_results.dag_run_id IS 'Airflow DAG run id of the run.';
COMMENT ON COLUMN reporting.criterion_results.evidence IS 'The complete evidence document (JSON), frozen at decision time.';

COMMENT ON VIEW reporting.capacity_weekly IS
    'Capacity trends: per server, metric and label, weekly p50, p95, max and coverage, with weeks cut at quarter boundaries, and the threshold the metric is judged against. Filter on server and metric for speed.';
COMMENT ON COLUMN reporting.capacity_weekly.server IS 'Server name.';
COMMENT ON COLUMN reporting.capacity_weekly.metric IS 'Canonical metric, for example ram_used_pct.';
COMMENT ON COLUMN reporting.capacity_weekly.label IS 'Series label (endpoint, queue), empty when none.';
COMMENT ON COLUMN reporting.capacity_weekly.unit IS 'Unit of the metric: %, pages/s, s, jobs, bool.';
COMMENT ON COLUMN reporting.capacity_weekly.quarter IS 'Quarter the week belongs to, for example 2026Q3.';
COMMENT ON COLUMN reporting.capacity_weekly.quarter_start IS 'First instant of that quarter (UTC).';
COMMENT ON COLUMN reporting.capacity_weekly.week_start IS 'Start of the week (Monday 00:00 UTC, or the quarter start for a week cut by it).';
COMMENT ON COLUMN reporting.capacity_weekly.week_end IS 'End of the week (exclusive; the quarter end for a week cut by it).';
COMMENT ON COLUMN reporting.capacity_weekly.complete IS 'False while the week is still in progress.';
COMMENT ON COLUMN reporting.capacity_weekly.samples IS 'Samples in the week.';
COMMENT ON COLUMN reporting.capacity_weekly.expected_samples IS 'Samples the scrape interval promises for the week (up to now for a week in progress).';
COMMENT ON COLUMN reporting.capacity_weekly.coverage IS 'samples / expected_samples, at most 1.';
COMMENT ON COLUMN reporting.capacity_weekly.p50 IS 'Median value in the week.';
COMMENT ON COLUMN reporting.capacity_weekly.p95 IS '95th percentile in the week.';
COMMENT ON COLUMN reporting.capacity_weekly.max IS 'Maximum in the week.';
COMMENT ON COLUMN reporting.capacity_weekly.threshold IS 'Threshold of the criterion that judges this metric (latest criteria.yaml synced), NULL if none.';
COMMENT ON COLUMN reporting.capacity_weekly.threshold_criterion_id IS 'That criterion: ram.sustained, cpu.sustained, ram.swap, cpu.api_latency or cpu.n8n_queue.';
COMMENT ON COLUMN reporting.capacity_weekly.interval_s IS 'Seconds between expected samples: the series'' cadence, else the server''s scrape interval (fleet.yaml), else 60.';

COMMENT ON VIEW reporting.provider_scorecards IS
    'Scorecards of the current (not superseded) provider review per quarter: one row per provider.';
COMMENT ON COLUMN reporting.provider_scorecards.quarter IS 'Reviewed quarter.';
COMMENT ON COLUMN reporting.provider_scorecards.provider IS 'Provider id from providers.yaml.';
COMMENT ON COLUMN reporting.provider_scorecards.role IS 'current (the provider in use) or alternative.';
COMMENT ON COLUMN reporting.provider_scorecards.recommended IS 'True for the provider the review recommends.';
COMMENT ON COLUMN reporting.provider_scorecards.decision IS
    'The review''s recommendation: stay, evaluate_migration or migrate.';
COMMENT ON COLUMN reporting.provider_scorecards.financial_score IS 'Share of financial criteria (fin.*) met, 0 to 1.';
COMMENT ON COLUMN reporting.provider_scorecards.technical_score IS 'Share of technical criteria (tech.*) met, 0 to 1.';
COMMENT ON COLUMN reporting.provider_scorecards.strategic_score IS 'Share of strategic criteria (strat.*) met, 0 to 1.';
COMMENT ON COLUMN reporting.provider_scorecards.weighted_total IS
    'Weighted share of criteria met, 0 to 100; group weights from providers.yaml requirements.weights.';
COMMENT ON COLUMN reporting.provider_scorecards.passes_fin_tech IS 'True when every financial and technical criterion is met.';
COMMENT ON COLUMN reporting.provider_scorecards.critical_failed IS 'Critical criteria (providers.yaml) this provider fails.';
COMMENT ON COLUMN reporting.provider_scorecards.tco_ratio IS 'Annual TCO divided by the current provider''s annual cost (1 for the current provider).';
COMMENT ON COLUMN reporting.provider_scorecards.annual_cost IS
    'current provider: actual annual cost from invoices; alternative: projected annual TCO, migration amortised.';
COMMENT ON COLUMN reporting.provider_scorecards.currency IS 'Currency of annual_cost (the reporting currency).';
COMMENT ON COLUMN reporting.provider_scorecards.outcomes IS 'JSON object: criterion id to met, not_met or insufficient_data.';
COMMENT ON COLUMN reporting.provider_scorecards.met_count IS 'Criteria met.';
COMMENT ON COLUMN reporting.provider_scorecards.not_met_count IS 'Criteria not met.';
COMMENT ON COLUMN reporting.provider_scorecards.insufficient_count IS 'Criteria without enough data.';
COMMENT ON COLUMN reporting.provider_scorecards.criteria_version IS 'Version of criteria.yaml used.';
COMMENT ON COLUMN reporting.provider_scorecards.dag_run_id IS 'Airflow DAG run id of the review.';
COMMENT ON COLUMN reporting.provider_scorecards.decision_id IS 'The review''s decision record.';

COMMENT ON VIEW reporting.provider_monthly_costs IS
    'Monthly invoiced cost per provider from the current provider reviews'' scorecards, one row per provider and month, in the reporting currency.';
COMMENT ON COLUMN reporting.provider_monthly_costs.quarter IS 'Quarter of the review that computed the costs.';
COMMENT ON COLUMN reporting.provider_monthly_costs.provider IS 'Provider id.';
COMMENT ON COLUMN reporting.provider_monthly_costs.role IS 'current or alternative.';
COMMENT ON COLUMN reporting.provider_monthly_costs.recommended IS 'True for the provider the review recommends.';
COMMENT ON COLUMN reporting.provider_monthly_costs.month IS 'Invoice month (first day).';
COMMENT ON COLUMN reporting.provider_monthly_costs.month_start IS 'The month as a UTC timestamp: a time axis for BI tools.';
COMMENT ON COLUMN reporting.provider_monthly_costs.amount IS 'Invoiced total for the month, converted to the reporting currency with the user''s rates.';
COMMENT ON COLUMN reporting.provider_monthly_costs.currency IS 'The reporting currency.';
COMMENT ON COLUMN reporting.provider_monthly_costs.is_latest_review IS 'True for rows of the latest reviewed quarter (reviews overlap in months; filter on this to count each month once).';
COMMENT ON COLUMN reporting.provider_monthly_costs.decision_id IS 'The review''s decision record.';
COMMENT ON COLUMN reporting.provider_monthly_costs.dag_run_id IS 'Airflow DAG run id of the review.';

COMMENT ON VIEW reporting.quality_results IS
    'Data-quality (Great Expectations) results per loaded batch and per review window, with links to the Data Docs.';
COMMENT ON COLUMN reporting.quality_results.batch_key IS 'The batch validated: a collector interval, an imported file, or review:<window>.';
COMMENT ON COLUMN reporting.quality_results.suite IS 'Expectation suite name.';
COMMENT ON COLUMN reporting.quality_results.source IS 'Where the batch came from (collector or import source), or review.';
COMMENT ON COLUMN reporting.quality_results.window_start IS 'Start of the validated window (UTC).';
COMMENT ON COLUMN reporting.quality_results.window_end IS 'End of the validated window (UTC).';
COMMENT ON COLUMN reporting.quality_results.success IS 'True when every expectation of the suite passed.';
COMMENT ON COLUMN reporting.quality_results.evaluated_expectations IS 'Expectations evaluated.';
COMMENT ON COLUMN reporting.quality_results.successful_expectations IS 'Expectations that passed.';
COMMENT ON COLUMN reporting.quality_results.unsuccessful_expectations IS 'Expectations that failed.';
COMMENT ON COLUMN reporting.quality_results.success_percent IS 'Share of expectations that passed, 0 to 100.';
COMMENT ON COLUMN reporting.quality_results.failed_expectations IS 'Names of the failed expectations, comma-separated.';
COMMENT ON COLUMN reporting.quality_results.rows_in IS 'Rows read in the batch (NULL for review windows).';
COMMENT ON COLUMN reporting.quality_results.rows_loaded IS 'Rows loaded into the metric store.';
COMMENT ON COLUMN reporting.quality_results.rows_quarantined IS 'Rows quarantined with a reason instead of loaded.';
COMMENT ON COLUMN reporting.quality_results.data_docs_url IS 'Great Expectations Data Docs page for this validation.';
COMMENT ON COLUMN reporting.quality_results.validated_at IS 'When the validation ran.';

-- bi_reader: read-only by default even where a grant slips (roles are cluster-wide), and a BI
-- dashboard cannot hold a query open forever.
ALTER ROLE bi_reader SET default_transaction_read_only = on;
ALTER ROLE bi_reader SET statement_timeout = '120s';
REVOKE ALL ON ALL TABLES IN SCHEMA infra_review FROM bi_reader;
