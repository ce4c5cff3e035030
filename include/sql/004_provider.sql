-- 004: provider review. Where an invoice line came from (so a review error can name the file
-- and line), and one scorecard per provider per review run.

ALTER TABLE infra_review.invoices
    ADD COLUMN source_file text,
    ADD COLUMN source_line integer CHECK (source_line > 0);

CREATE INDEX support_tickets_opened_idx ON infra_review.support_tickets (opened_at);

-- A provider's scorecard in one review run. A rerun writes new rows under its own run; the
-- earlier run's rows stay, and its decision is marked superseded.
CREATE TABLE infra_review.provider_scorecards (
    run_id              bigint NOT NULL REFERENCES infra_review.review_runs (run_id),
    provider            text NOT NULL,
    role                text NOT NULL CHECK (role IN ('current', 'alternative')),
    quarter             text NOT NULL CHECK (quarter ~ '^\d{4}Q[1-4]$'),
    outcomes            jsonb NOT NULL,          -- {criterion_id: met | not_met | insufficient_data}
    financial_score     double precision NOT NULL CHECK (financial_score BETWEEN 0 AND 1),
    technical_score     double precision NOT NULL CHECK (technical_score BETWEEN 0 AND 1),
    strategic_score     double precision NOT NULL CHECK (strategic_score BETWEEN 0 AND 1),
    weighted_total      double precision NOT NULL CHECK (weighted_total BETWEEN 0 AND 100),
    weights             jsonb NOT NULL,
    met_count           integer NOT NULL,
    not_met_count       integer NOT NULL,
    insufficient_count  integer NOT NULL,
    passes_fin_tech     boolean NOT NULL,        -- every financial and technical criterion met
    critical_failed     text[] NOT NULL DEFAULT '{}',
    tco_ratio           double precision,
    annual_cost         numeric(16, 2),          -- actual (current) or projected TCO (alternative)
    currency            char(3) NOT NULL,
    monthly_costs       jsonb NOT NULL DEFAULT '{}',  -- {YYYY-MM: invoiced total in currency}
    recommended         boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, provider)
);

CREATE VIEW reporting.provider_scorecards AS
SELECT d.quarter, s.provider, s.role, s.recommended, d.decision, s.financial_score,
       s.technical_score, s.strategic_score, s.weighted_total, s.passes_fin_tech,
       s.critical_failed, s.tco_ratio, s.annual_cost, s.currency, s.outcomes,
       s.met_count, s.not_met_count, s.insufficient_count, r.criteria_version, r.dag_run_id,
       d.decision_id
FROM infra_review.provider_scorecards s
JOIN infra_review.review_runs r USING (run_id)
JOIN infra_review.decisions d ON d.run_id = s.run_id AND d.review_type = 'provider'
WHERE d.status <> 'superseded';
COMMENT ON VIEW reporting.provider_scorecards IS
    'Scorecards of the current (not superseded) provider review per quarter: one row per provider.';
COMMENT ON COLUMN reporting.provider_scorecards.weighted_total IS
    'Weighted share of criteria met, 0 to 100; group weights from providers.yaml requirements.weights';
COMMENT ON COLUMN reporting.provider_scorecards.decision IS
    'The review''s recommendation: stay, evaluate_migration or migrate';
COMMENT ON COLUMN reporting.provider_scorecards.annual_cost IS
    'current provider: actual annual cost from invoices; alternative: projected annual TCO, migration amortised';
