-- 008: what happens to a decision after the review (issue 17), and which inputs a review read
-- (issue 15 item 9).
--
-- Lifecycle of a decision that asks for action (upgrade_*, add_server, evaluate_migration,
-- migrate): proposed -> accepted | dismissed -> implemented -> confirmed | not_confirmed.
-- People set accepted, dismissed and implemented (CLI `infra-review decision`, the decisions
-- page); the next review sets confirmed or not_confirmed from the decision's confirmation.
-- Every change is a row in decision_events, which cannot be updated or deleted.
--
-- Inputs: a review stores the fingerprint of what it read (criteria, fleet and providers file
-- hashes, per-series sample count and newest sample time; infra_review.lifecycle.fingerprint)
-- and the load batches it could see. A rerun with the same fingerprint as the current review
-- of its quarter writes no decisions: it records that it confirmed that run (confirms_run_id).

ALTER TABLE infra_review.decisions
    ADD COLUMN state text CHECK (state IN ('proposed', 'accepted', 'dismissed', 'implemented',
                                           'confirmed', 'not_confirmed')),
    ADD COLUMN state_changed_at timestamptz;

CREATE TABLE infra_review.decision_events (
    event_id       bigserial PRIMARY KEY,
    decision_id    bigint NOT NULL REFERENCES infra_review.decisions (decision_id),
    from_state     text,
    to_state       text NOT NULL CHECK (to_state IN ('proposed', 'accepted', 'dismissed',
                                                     'implemented', 'confirmed', 'not_confirmed',
                                                     'carried_forward')),
    author         text NOT NULL CHECK (length(btrim(author)) > 0),
    note           text,
    implemented_on date,
    evidence       jsonb NOT NULL DEFAULT '{}',
    run_id         bigint REFERENCES infra_review.review_runs (run_id),
    at             timestamptz NOT NULL
);
CREATE INDEX decision_events_decision_idx ON infra_review.decision_events (decision_id, event_id);

CREATE FUNCTION infra_review.decision_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'decision_events is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER decision_events_no_update BEFORE UPDATE OR DELETE ON infra_review.decision_events
    FOR EACH ROW EXECUTE FUNCTION infra_review.decision_events_append_only();
CREATE TRIGGER decision_events_no_truncate BEFORE TRUNCATE ON infra_review.decision_events
    FOR EACH STATEMENT EXECUTE FUNCTION infra_review.decision_events_append_only();

ALTER TABLE infra_review.review_runs
    ADD COLUMN inputs_sha256 text,
    ADD COLUMN inputs_fingerprint jsonb,
    ADD COLUMN newest_sample_ts timestamptz,
    ADD COLUMN inputs_read_at timestamptz,
    ADD COLUMN batches_seen integer,
    ADD COLUMN batches_last_loaded timestamptz,
    ADD COLUMN confirms_run_id bigint REFERENCES infra_review.review_runs (run_id);
CREATE INDEX load_batches_window_idx ON infra_review.load_batches (window_start, window_end);

-- ---------------------------------------------------------------------------------------------
-- Views: columns appended, the earlier ones unchanged (a saved BI query keeps working).

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
       r.triggered_by,
       coalesce(
           CASE WHEN jsonb_typeof(d.context -> 'actions') = 'array'
                THEN ARRAY(SELECT jsonb_array_elements_text(d.context -> 'actions')) END,
           ARRAY[d.decision]) AS actions,
       d.state,
       d.state_changed_at,
       e.author AS state_changed_by,
       e.note AS state_note,
       e.implemented_on,
       (d.state = 'accepted' AND EXISTS (
           SELECT 1 FROM infra_review.decision_events cf
           WHERE cf.decision_id = d.decision_id AND cf.to_state = 'carried_forward'))
           AS carried_forward,
       r.newest_sample_ts,
       r.inputs_read_at,
       (r.batches_seen IS NOT NULL
        AND (b.n, b.last_loaded) IS DISTINCT FROM (r.batches_seen, r.batches_last_loaded))
           AS inputs_changed_since,
       (SELECT array_agg(x.run_id ORDER BY x.run_id) FROM infra_review.review_runs x
        WHERE x.confirms_run_id = r.run_id) AS confirmed_by_runs
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
LEFT JOIN LATERAL (
    SELECT ev.author, ev.note, ev.implemented_on FROM infra_review.decision_events ev
    WHERE ev.decision_id = d.decision_id AND ev.to_state = d.state
    ORDER BY ev.event_id DESC LIMIT 1
) e ON true
LEFT JOIN LATERAL (
    SELECT count(*)::int AS n, max(lb.loaded_at) AS last_loaded
    FROM infra_review.load_batches lb
    WHERE lb.window_start < r.window_end AND lb.window_end > r.window_start
) b ON true
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
       r.triggered_by,
       d.state,
       d.state_changed_at
FROM infra_review.decisions d
JOIN infra_review.review_runs r USING (run_id)
LEFT JOIN infra_review.decisions n ON n.decision_id = d.superseded_by;

CREATE OR REPLACE VIEW reporting.review_runs AS
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
       r.report_path, r.created_at,
       r.inputs_sha256,
       r.newest_sample_ts,
       r.inputs_read_at,
       r.confirms_run_id,
       CASE WHEN r.confirms_run_id IS NOT NULL
            THEN format('unchanged, confirmed run %s', r.confirms_run_id) END AS outcome_note
FROM infra_review.review_runs r;

CREATE VIEW reporting.decision_events AS
SELECT ev.event_id, ev.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject,
       d.decision, ev.from_state, ev.to_state, ev.author, ev.note, ev.implemented_on,
       ev.at, ev.run_id, ev.evidence, d.state AS current_state,
       d.status <> 'superseded' AS decision_is_current
FROM infra_review.decision_events ev
JOIN infra_review.decisions d USING (decision_id);

-- ---------------------------------------------------------------------------------------------

COMMENT ON COLUMN reporting.current_decisions.actions IS
    'Every action the decision asks for, for example {upgrade_ram,upgrade_cpu} when both RAM and CPU triggers are met (decision holds the first); {decision} for a decision without a list.';
COMMENT ON COLUMN reporting.current_decisions.state IS
    'Lifecycle of a decision that asks for action: proposed, accepted, dismissed, implemented, confirmed or not_confirmed; NULL for watch, no_action, stay and insufficient_data.';
COMMENT ON COLUMN reporting.current_decisions.state_changed_at IS 'When the state last changed.';
COMMENT ON COLUMN reporting.current_decisions.state_changed_by IS 'Who set the current state (a person, or "review run N" for confirmed / not_confirmed).';
COMMENT ON COLUMN reporting.current_decisions.state_note IS 'The note given with the current state (why it was dismissed, what was done).';
COMMENT ON COLUMN reporting.current_decisions.implemented_on IS 'The date the action was implemented, when the state is implemented or later.';
COMMENT ON COLUMN reporting.current_decisions.carried_forward IS
    'True when the decision was accepted but a later review found it not yet implemented.';
COMMENT ON COLUMN reporting.current_decisions.newest_sample_ts IS 'Newest sample time the review read (NULL when the review did not record it).';
COMMENT ON COLUMN reporting.current_decisions.inputs_read_at IS 'Database time at which the review started reading its inputs.';
COMMENT ON COLUMN reporting.current_decisions.inputs_changed_since IS
    'True when a load batch covering the review window was added or re-loaded since the review read its inputs: rerun the review (or `infra-review review capacity --recompute RUN`).';
COMMENT ON COLUMN reporting.current_decisions.confirmed_by_runs IS
    'Later review runs with identical inputs that confirmed this one instead of superseding it.';

COMMENT ON COLUMN reporting.decision_history.state IS 'Lifecycle state (see current_decisions.state).';
COMMENT ON COLUMN reporting.decision_history.state_changed_at IS 'When the state last changed.';

COMMENT ON COLUMN reporting.review_runs.inputs_sha256 IS
    'SHA-256 of the inputs fingerprint: criteria, fleet and providers file hashes, per-series sample count and newest sample time.';
COMMENT ON COLUMN reporting.review_runs.newest_sample_ts IS 'Newest sample time the review read.';
COMMENT ON COLUMN reporting.review_runs.inputs_read_at IS 'Database time at which the review started reading its inputs.';
COMMENT ON COLUMN reporting.review_runs.confirms_run_id IS
    'Set when this run''s inputs equalled the current run''s: it wrote no decisions and confirmed that run, which stays current.';
COMMENT ON COLUMN reporting.review_runs.outcome_note IS '"unchanged, confirmed run N" for a run that confirmed an identical one.';

COMMENT ON VIEW reporting.decision_events IS
    'Every lifecycle change of every decision, with its author, kept forever (the table refuses updates and deletes).';
COMMENT ON COLUMN reporting.decision_events.event_id IS 'Event id, increasing in the order of the changes.';
COMMENT ON COLUMN reporting.decision_events.decision_id IS 'Decision record id (reporting.decision_history).';
COMMENT ON COLUMN reporting.decision_events.review_type IS 'capacity or provider.';
COMMENT ON COLUMN reporting.decision_events.quarter IS 'Quarter of the decision.';
COMMENT ON COLUMN reporting.decision_events.subject_kind IS 'server, fleet or provider.';
COMMENT ON COLUMN reporting.decision_events.subject IS 'Server name, "fleet", or the provider id.';
COMMENT ON COLUMN reporting.decision_events.decision IS 'The decision the event is about.';
COMMENT ON COLUMN reporting.decision_events.from_state IS 'State before the change (NULL for the first event).';
COMMENT ON COLUMN reporting.decision_events.to_state IS
    'State after the change, or carried_forward: a later review found an accepted decision not yet implemented (the state stays accepted).';
COMMENT ON COLUMN reporting.decision_events.author IS 'Who made the change: a person''s name, or "review run N".';
COMMENT ON COLUMN reporting.decision_events.note IS 'Why (dismissed), what was done (implemented), or the evidence in words (confirmed, not_confirmed).';
COMMENT ON COLUMN reporting.decision_events.implemented_on IS 'Date the action was implemented (implemented events).';
COMMENT ON COLUMN reporting.decision_events.at IS 'When the change was recorded.';
COMMENT ON COLUMN reporting.decision_events.run_id IS 'Review run that made the change (proposed, confirmed, not_confirmed, carried_forward).';
COMMENT ON COLUMN reporting.decision_events.evidence IS 'What the review saw (JSON), for confirmed and not_confirmed.';
COMMENT ON COLUMN reporting.decision_events.current_state IS 'The decision''s state now.';
COMMENT ON COLUMN reporting.decision_events.decision_is_current IS 'False when a rerun of the quarter superseded the decision.';
