-- 011: BI connects on the first run.
--
-- bi_reader's sessions find the views without a schema prefix (a BI tool's table list shows
-- them at once).
ALTER ROLE bi_reader SET search_path = reporting;

-- Settings only the deployment knows and the views need: the Airflow UI's address, where the
-- decisions page serves the review reports. `infra-review reporting sync` (run by `make demo`
-- and the compose stack's airflow-init) writes it from AIRFLOW__API__BASE_URL, else from the
-- API server's host and port.
CREATE TABLE infra_review.reporting_settings (
    key        text PRIMARY KEY,
    value      text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE infra_review.reporting_settings IS
    'deployment settings the reporting views read, e.g. airflow_base_url';

-- report_url: the report as a link a browser opens (the decisions page serves
-- <data dir>/reports/<type>/<quarter>/<run>/<file> at /capacity-decisions/reports/...).
-- It is appended to each view that has report_path by wrapping the view's current
-- definition, whatever earlier migrations made of it, so this migration does not restate
-- (and cannot drop) columns that other migrations add. A later migration that redefines one
-- of these views must keep report_url as its last column or append after it.
DO $migration$
DECLARE
    view_name text;
    body text;
    url_expr constant text := $expr$
        CASE WHEN v.report_path ~ '/reports/[a-z_]+/[0-9]{4}Q[1-4]/[^/]+/[^/]+$'
             THEN coalesce((SELECT s.value FROM infra_review.reporting_settings s
                            WHERE s.key = 'airflow_base_url'), 'http://localhost:8080')
                  || '/capacity-decisions/reports/'
                  || substring(v.report_path
                               FROM '/reports/([a-z_]+/[0-9]{4}Q[1-4]/[^/]+/[^/]+)$')
        END$expr$;
BEGIN
    FOREACH view_name IN ARRAY ARRAY['current_decisions', 'decision_history', 'review_runs'] LOOP
        body := rtrim(pg_get_viewdef(format('reporting.%I', view_name)::regclass), E'; \n');
        EXECUTE format('CREATE OR REPLACE VIEW reporting.%I AS SELECT v.*, %s AS report_url '
                       'FROM (%s) v', view_name, url_expr, body);
        EXECUTE format('COMMENT ON COLUMN reporting.%I.report_url IS %L', view_name,
                       'Link to the review report that a browser opens (through the Airflow UI''s '
                       'Capacity decisions page; needs an Airflow login): the Airflow address '
                       'from `infra-review reporting sync` plus the report''s path. NULL when '
                       'the run wrote no report.');
    END LOOP;
END
$migration$;

COMMENT ON COLUMN reporting.current_decisions.report_path IS
    'File path of the review report on the Airflow host; report_url is the link to open.';
COMMENT ON COLUMN reporting.decision_history.report_path IS
    'File path of the review report on the Airflow host; report_url is the link to open.';
COMMENT ON COLUMN reporting.review_runs.report_path IS
    'File path of the review report on the Airflow host; report_url is the link to open.';

GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO bi_reader;
