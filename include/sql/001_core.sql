-- 001: the store the pipeline writes (schema infra_review) and the BI surface (schema reporting).

CREATE SCHEMA IF NOT EXISTS infra_review;
CREATE SCHEMA IF NOT EXISTS reporting;

-- Servers come from fleet.yaml (metadata) or are registered by the first sample that names them.
CREATE TABLE infra_review.servers (
    server          text PRIMARY KEY,
    provider        text,
    region          text,
    ram_gb          numeric CHECK (ram_gb > 0),
    cpu_cores       integer CHECK (cpu_cores > 0),
    services        text[] NOT NULL DEFAULT '{}',
    registered_from text NOT NULL CHECK (registered_from IN ('fleet', 'samples')),
    first_seen      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The canonical metrics of the samples contract, with the range a valid value must fall in.
CREATE TABLE infra_review.metrics (
    metric      text PRIMARY KEY,
    unit        text NOT NULL,
    min_value   double precision,
    max_value   double precision,
    description text NOT NULL
);
INSERT INTO infra_review.metrics VALUES
    ('ram_used_pct',        '%',       0, 100,  'RAM in use, percent of installed'),
    ('cpu_used_pct',        '%',       0, 100,  'CPU busy, percent of all cores'),
    ('swap_io_pages_per_s', 'pages/s', 0, NULL, 'swap-in plus swap-out pages per second'),
    ('api_latency_s',       's',       0, NULL, 'API response time; label = endpoint'),
    ('n8n_queue_waiting',   'jobs',    0, NULL, 'n8n Bull queue: jobs waiting; label = queue'),
    ('n8n_queue_active',    'jobs',    0, NULL, 'n8n Bull queue: jobs being worked on; label = queue'),
    ('probe_up',            'bool',    0, 1,    'probe result, 1 up, 0 down; label = endpoint');

-- A series is (server, metric, label); samples refer to it by a small integer id.
CREATE TABLE infra_review.series (
    series_id serial PRIMARY KEY,
    server    text NOT NULL REFERENCES infra_review.servers (server),
    metric    text NOT NULL REFERENCES infra_review.metrics (metric),
    label     text NOT NULL DEFAULT '',
    UNIQUE (server, metric, label)
);

-- Samples are unique per (series, ts): a retry or a re-import never duplicates a row.
-- Monthly range partitions, created by infra_review.ensure_sample_partitions before a load.
CREATE TABLE infra_review.samples (
    series_id integer NOT NULL,
    ts        timestamptz NOT NULL,
    value     double precision NOT NULL,
    PRIMARY KEY (series_id, ts)
) PARTITION BY RANGE (ts);

CREATE FUNCTION infra_review.ensure_sample_partitions(from_ts timestamptz, to_ts timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz := date_trunc('month', from_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    created integer := 0;
    part_name text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('infra_review.samples partitions'));
    WHILE month_start <= to_ts LOOP
        part_name := format('samples_%s', to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM'));
        IF to_regclass(format('infra_review.%I', part_name)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE infra_review.%I PARTITION OF infra_review.samples FOR VALUES FROM (%L) TO (%L)',
                part_name, month_start, (month_start AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
        month_start := (month_start AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC';
    END LOOP;
    RETURN created;
END $$;

-- One row per loaded batch (a collector run for one interval, or one imported file).
CREATE TABLE infra_review.load_batches (
    batch_key        text PRIMARY KEY,
    source           text NOT NULL,
    window_start     timestamptz,
    window_end       timestamptz,
    rows_in          integer NOT NULL,
    rows_loaded      integer NOT NULL,
    rows_quarantined integer NOT NULL DEFAULT 0,
    loaded_at        timestamptz NOT NULL DEFAULT now()
);

-- Rows that failed the quality gate, with the reason; never silently dropped.
CREATE TABLE infra_review.quarantine (
    quarantine_id  bigserial PRIMARY KEY,
    batch_key      text NOT NULL,
    source         text NOT NULL,
    server         text,
    metric         text,
    label          text,
    ts             timestamptz,
    value          double precision,
    expectation    text NOT NULL,
    reason         text NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_batch_idx ON infra_review.quarantine (batch_key);

-- Great Expectations validation results per batch (collect) or per review window.
CREATE TABLE infra_review.quality_results (
    batch_key     text NOT NULL,
    suite         text NOT NULL,
    window_start  timestamptz,
    window_end    timestamptz,
    success       boolean NOT NULL,
    statistics    jsonb NOT NULL DEFAULT '{}',
    results       jsonb NOT NULL DEFAULT '[]',
    data_docs_url text,
    validated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_key, suite)
);

CREATE TABLE infra_review.complaints (
    complaint_id bigserial PRIMARY KEY,
    ts           timestamptz NOT NULL,
    service      text NOT NULL,
    server       text NOT NULL DEFAULT '',
    category     text NOT NULL,
    text         text NOT NULL,
    text_md5     text GENERATED ALWAYS AS (md5(text)) STORED,
    UNIQUE (ts, service, server, category, text_md5)
);

CREATE TABLE infra_review.planned_services (
    service     text NOT NULL,
    server      text NOT NULL,
    planned_for date NOT NULL,
    ram_gb      numeric NOT NULL CHECK (ram_gb >= 0),
    cpu_cores   numeric NOT NULL CHECK (cpu_cores >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, server)
);

-- Provider evidence: invoices keep their currency; rates are supplied by the user per month.
CREATE TABLE infra_review.invoices (
    provider  text NOT NULL,
    month     date NOT NULL CHECK (extract(day FROM month) = 1),
    line_item text NOT NULL,
    amount    numeric(14, 2) NOT NULL,
    currency  char(3) NOT NULL,
    PRIMARY KEY (provider, month, line_item)
);

CREATE TABLE infra_review.exchange_rates (
    month    date NOT NULL CHECK (extract(day FROM month) = 1),
    currency char(3) NOT NULL,
    base     char(3) NOT NULL,
    rate     numeric(20, 8) NOT NULL CHECK (rate > 0),
    PRIMARY KEY (month, currency, base)
);

CREATE TABLE infra_review.support_tickets (
    provider          text NOT NULL,
    opened_at         timestamptz NOT NULL,
    first_response_at timestamptz,
    resolved_at       timestamptz,
    PRIMARY KEY (provider, opened_at),
    CHECK (first_response_at IS NULL OR first_response_at >= opened_at),
    CHECK (resolved_at IS NULL OR resolved_at >= opened_at)
);

-- A review run: which DAG run made it, with which criteria version, over which window.
CREATE TABLE infra_review.review_runs (
    run_id           bigserial PRIMARY KEY,
    review_type      text NOT NULL CHECK (review_type IN ('capacity', 'provider')),
    quarter          text NOT NULL CHECK (quarter ~ '^\d{4}Q[1-4]$'),
    window_start     timestamptz NOT NULL,
    window_end       timestamptz NOT NULL,
    run_key          text NOT NULL,
    dag_id           text,
    dag_run_id       text,
    triggered_by     text,
    criteria_version text NOT NULL,
    criteria_sha256  text NOT NULL,
    quality_verdict  jsonb NOT NULL DEFAULT '{}',
    inputs           jsonb NOT NULL DEFAULT '{}',
    report_path      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (review_type, quarter, run_key)
);

-- Decision records (MADR fields). A rerun supersedes the earlier record and keeps it.
CREATE TABLE infra_review.decisions (
    decision_id   bigserial PRIMARY KEY,
    run_id        bigint NOT NULL REFERENCES infra_review.review_runs (run_id),
    review_type   text NOT NULL,
    quarter       text NOT NULL,
    subject_kind  text NOT NULL CHECK (subject_kind IN ('server', 'fleet', 'provider')),
    subject       text NOT NULL,
    decision      text NOT NULL,
    status        text NOT NULL DEFAULT 'proposed'
                  CHECK (status IN ('proposed', 'accepted', 'rejected', 'superseded')),
    superseded_by bigint REFERENCES infra_review.decisions (decision_id),
    context       jsonb NOT NULL DEFAULT '{}',
    drivers       jsonb NOT NULL DEFAULT '[]',
    options       jsonb NOT NULL DEFAULT '[]',
    confirmation  jsonb NOT NULL DEFAULT '{}',
    summary_ru    text NOT NULL,
    summary_en    text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, subject_kind, subject)
);
CREATE UNIQUE INDEX decisions_one_current_idx
    ON infra_review.decisions (review_type, quarter, subject_kind, subject)
    WHERE status <> 'superseded';

CREATE TABLE infra_review.criterion_results (
    run_id        bigint NOT NULL REFERENCES infra_review.review_runs (run_id),
    decision_id   bigint REFERENCES infra_review.decisions (decision_id),
    subject       text NOT NULL,
    criterion_id  text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('met', 'not_met', 'insufficient_data')),
    observed      double precision,
    threshold     double precision,
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    evidence      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, subject, criterion_id)
);

-- Reporting: stable views for BI tools; bi_reader may read these and nothing else.
CREATE VIEW reporting.current_decisions AS
SELECT d.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject, d.decision, d.status,
       d.summary_en, d.summary_ru, r.window_start, r.window_end, r.criteria_version,
       r.dag_id, r.dag_run_id, r.report_path, d.created_at
FROM infra_review.decisions d
JOIN infra_review.review_runs r USING (run_id)
WHERE d.status <> 'superseded';
COMMENT ON VIEW reporting.current_decisions IS
    'The current (not superseded) decision per review type, quarter and subject.';
COMMENT ON COLUMN reporting.current_decisions.decision IS
    'capacity: upgrade_ram, upgrade_cpu, add_server, watch, no_action, insufficient_data; provider: stay, evaluate_migration, migrate';
COMMENT ON COLUMN reporting.current_decisions.status IS
    'proposed, accepted or rejected (superseded records are in decision history)';

CREATE VIEW reporting.decision_history AS
SELECT d.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject, d.decision, d.status,
       d.superseded_by, d.summary_en, d.summary_ru, r.run_id, r.dag_run_id, r.criteria_version,
       d.created_at
FROM infra_review.decisions d
JOIN infra_review.review_runs r USING (run_id);
COMMENT ON VIEW reporting.decision_history IS
    'Every decision record ever written, superseded ones included, linked to the record that replaced it.';

DO $$
BEGIN
    CREATE ROLE bi_reader LOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- roles are cluster-wide: another database may have created it
END $$;
REVOKE ALL ON SCHEMA infra_review FROM PUBLIC;
