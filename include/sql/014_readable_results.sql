-- 014: values a person can read (issue 18). Each criterion result stores its observed value,
-- threshold, comparator and unit in the unit of the criterion's text (hours for "1 hour",
-- items for "100 items", seconds for "2 seconds", % for shares), a duration (or share of
-- hours) criterion's second condition apart from its level threshold, and the one-line
-- evidence sentences the CLI prints (infra_review.criteria.readable). The catalog stores the
-- same thresholds from criteria.yaml, so reporting.criteria and reporting.criterion_results
-- agree. The views round for display; full precision stays in observed_exact/threshold_exact
-- and in the evidence JSON. Rows written before 014 keep their raw numbers (unit NULL).

ALTER TABLE infra_review.criterion_results
    ADD COLUMN observed_shown double precision,
    ADD COLUMN threshold_shown double precision,
    ADD COLUMN comparator text,
    ADD COLUMN unit text,
    ADD COLUMN duration_observed double precision,
    ADD COLUMN duration_threshold double precision,
    ADD COLUMN duration_comparator text,
    ADD COLUMN duration_unit text,
    ADD COLUMN evidence_en text,
    ADD COLUMN evidence_ru text;

ALTER TABLE infra_review.criteria_catalog
    ADD COLUMN shown_threshold double precision,
    ADD COLUMN shown_comparator text,
    ADD COLUMN unit text,
    ADD COLUMN duration_threshold double precision,
    ADD COLUMN duration_comparator text,
    ADD COLUMN duration_unit text;

-- The criterion's threshold in the unit of its text (the raw metric threshold stays in the
-- catalog for capacity_weekly's lines); columns appended, the 005 ones keep their order.
CREATE OR REPLACE VIEW reporting.criteria AS
SELECT c.criterion_id, c.review_type, c.criterion_group, c.text_en, c.text_ru, c.metric,
       coalesce(c.shown_comparator, c.comparator, '>') AS comparator,
       round(coalesce(c.shown_threshold, c.threshold)::numeric, 2)::double precision
           AS threshold,
       c.default_source, c.criteria_version, c.criteria_sha256,
       c.synced_at = max(c.synced_at) OVER (PARTITION BY c.criterion_id) AS is_latest,
       c.synced_at,
       c.unit,
       round(c.duration_threshold::numeric, 2)::double precision AS duration_threshold,
       c.duration_comparator, c.duration_unit
FROM infra_review.criteria_catalog c;

CREATE OR REPLACE VIEW reporting.criterion_results AS
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
       round((CASE WHEN cr.unit IS NULL THEN cr.observed ELSE cr.observed_shown END)::numeric,
             2)::double precision AS observed,
       round((CASE WHEN cr.unit IS NULL THEN cr.threshold ELSE cr.threshold_shown END)::numeric,
             2)::double precision AS threshold,
       coalesce(cr.comparator,
                CASE WHEN jsonb_typeof(cr.evidence -> 'comparator') = 'string'
                     THEN cr.evidence ->> 'comparator' END,
                cat.shown_comparator, cat.comparator, latest.comparator, '>') AS comparator,
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
       cr.evidence,
       cr.unit,
       round(cr.duration_observed::numeric, 2)::double precision AS duration_observed,
       round(cr.duration_threshold::numeric, 2)::double precision AS duration_threshold,
       cr.duration_comparator, cr.duration_unit,
       cr.evidence_en, cr.evidence_ru,
       cr.observed_shown AS observed_exact, cr.threshold_shown AS threshold_exact
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
    SELECT l.criterion_group, l.text_en, l.text_ru, l.comparator FROM infra_review.criteria_catalog l
    WHERE l.criterion_id = cr.criterion_id ORDER BY l.synced_at DESC LIMIT 1
) latest ON true;

COMMENT ON COLUMN reporting.criteria.comparator IS 'How the observed value is compared with the threshold (>, >=, <, <=, ==); never NULL.';
COMMENT ON COLUMN reporting.criteria.threshold IS 'The threshold in the unit of the criterion''s text (see unit), rounded for display: 2 for "2 seconds", 100 for "100 items", 10 for ram.swap''s 10% of hours.';
COMMENT ON COLUMN reporting.criteria.unit IS 'Unit of threshold: %, % of hours, h, min, s, items, ×, complaints, regions, violations, lines, /5.';
COMMENT ON COLUMN reporting.criteria.duration_threshold IS 'For a criterion with a second condition (how long, or in how many hours): its threshold, for example 1 (h) for "above 90% for more than 1 hour"; NULL otherwise.';
COMMENT ON COLUMN reporting.criteria.duration_comparator IS 'How the duration (or share of hours) is compared with duration_threshold.';
COMMENT ON COLUMN reporting.criteria.duration_unit IS 'Unit of duration_threshold: h, min or % of hours.';
COMMENT ON COLUMN reporting.criterion_results.observed IS 'The observed value in the unit of the criterion''s text (see unit), rounded to 2 decimals: the peak of the longest run for a sustained criterion, the worst hour''s p95 for API latency, the share in % for shares. Rows written before migration 014 keep the raw number.';
COMMENT ON COLUMN reporting.criterion_results.threshold IS 'The threshold in the same unit, rounded (the same number as reporting.criteria.threshold).';
COMMENT ON COLUMN reporting.criterion_results.comparator IS 'How observed was compared with threshold (>, >=, <, <=, ==); never NULL.';
COMMENT ON COLUMN reporting.criterion_results.unit IS 'Unit of observed and threshold: %, % of hours, h, min, s, items, ×, complaints, regions, violations, lines, /5 (NULL for rows written before migration 014).';
COMMENT ON COLUMN reporting.criterion_results.duration_observed IS 'The decisive duration (longest qualifying run) or share of hours, in duration_unit, rounded; NULL for a criterion without a second condition.';
COMMENT ON COLUMN reporting.criterion_results.duration_threshold IS 'The duration (or share of hours) the criterion asks for, in duration_unit: 1 (h) for "more than 1 hour", 15 (min) for the n8n queue.';
COMMENT ON COLUMN reporting.criterion_results.duration_comparator IS 'How duration_observed is compared with duration_threshold.';
COMMENT ON COLUMN reporting.criterion_results.duration_unit IS 'Unit of the duration columns: h, min or % of hours.';
COMMENT ON COLUMN reporting.criterion_results.evidence_en IS 'One-line evidence sentence in English (the sentence the CLI prints).';
COMMENT ON COLUMN reporting.criterion_results.evidence_ru IS 'The same sentence in Russian.';
COMMENT ON COLUMN reporting.criterion_results.observed_exact IS 'observed in full precision (same unit).';
COMMENT ON COLUMN reporting.criterion_results.threshold_exact IS 'threshold in full precision (same unit).';
