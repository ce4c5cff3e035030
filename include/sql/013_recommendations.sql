-- 013: sized and priced recommendations (issue 17), one row per resource of each current
-- decision that asks for action.
--
-- Capacity: every upgrade_ram / upgrade_cpu names the RAM (GB) or cores it needs and the
-- smallest plan that holds it, and add_server the new server's size; the review writes them
-- to decisions.context -> 'sizing' (infra_review.capacity.sizing). Provider: migrate and
-- evaluate_migration name the yearly cost difference between the recommended provider's
-- projected TCO and the current provider's actual annual cost (from the decision's own
-- scorecards, in context -> 'scorecards').
--
-- Every number is read only when the JSON holds a number there, so a record written by an
-- older version gives NULL, never a failed query.

CREATE VIEW reporting.recommendations AS
WITH capacity AS (
    SELECT d.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject, d.decision,
           d.state, d.run_id, s.item
    FROM infra_review.decisions d
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(d.context -> 'sizing') = 'array' THEN d.context -> 'sizing'
             ELSE '[]'::jsonb END) AS s(item)
    WHERE d.status <> 'superseded' AND d.review_type = 'capacity'
), provider AS (
    SELECT d.decision_id, d.review_type, d.quarter, d.subject_kind, d.subject, d.decision,
           d.state, d.run_id,
           d.context ->> 'recommended_provider' AS chosen,
           d.context ->> 'reporting_currency' AS currency,
           (SELECT CASE WHEN jsonb_typeof(c -> 'annual_cost') = 'number'
                        THEN (c ->> 'annual_cost')::numeric END
            FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(d.context -> 'scorecards') = 'array'
                     THEN d.context -> 'scorecards' ELSE '[]'::jsonb END) c
            WHERE c ->> 'provider' = d.subject LIMIT 1) AS current_annual,
           (SELECT CASE WHEN jsonb_typeof(c -> 'annual_cost') = 'number'
                        THEN (c ->> 'annual_cost')::numeric END
            FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(d.context -> 'scorecards') = 'array'
                     THEN d.context -> 'scorecards' ELSE '[]'::jsonb END) c
            WHERE c ->> 'provider' = d.context ->> 'recommended_provider' LIMIT 1)
               AS chosen_annual
    FROM infra_review.decisions d
    WHERE d.status <> 'superseded' AND d.review_type = 'provider'
      AND d.decision IN ('migrate', 'evaluate_migration')
)
SELECT c.decision_id, c.review_type, c.quarter,
       make_timestamptz(substr(c.quarter, 1, 4)::int, (substr(c.quarter, 6, 1)::int - 1) * 3 + 1,
                        1, 0, 0, 0, 'UTC') AS quarter_start,
       c.subject_kind, c.subject, c.decision,
       c.item ->> 'action' AS action,
       c.item ->> 'resource' AS resource,
       c.item ->> 'status' AS sizing_status,
       CASE WHEN jsonb_typeof(c.item -> 'current') = 'number'
            THEN (c.item ->> 'current')::double precision END AS current,
       CASE WHEN jsonb_typeof(c.item -> 'recommended') = 'number'
            THEN (c.item ->> 'recommended')::double precision END AS recommended,
       CASE WHEN jsonb_typeof(c.item -> 'needed') = 'number'
            THEN (c.item ->> 'needed')::double precision END AS needed,
       c.item ->> 'unit' AS unit,
       c.item ->> 'provider' AS provider,
       c.item ->> 'current_plan' AS current_plan,
       c.item ->> 'plan' AS plan,
       CASE WHEN jsonb_typeof(c.item -> 'monthly_cost_change') = 'number'
            THEN (c.item ->> 'monthly_cost_change')::double precision END AS monthly_cost_change,
       CASE WHEN jsonb_typeof(c.item -> 'monthly_cost_change') = 'number'
            THEN 12 * (c.item ->> 'monthly_cost_change')::double precision END AS yearly_cost_change,
       c.item ->> 'currency' AS currency,
       c.item ->> 'cost_note' AS cost_note,
       CASE WHEN jsonb_typeof(c.item -> 'projected_utilisation') = 'number'
            THEN (c.item ->> 'projected_utilisation')::double precision END AS projected_utilisation,
       CASE WHEN jsonb_typeof(c.item -> 'target_utilisation') = 'number'
            THEN (c.item ->> 'target_utilisation')::double precision END AS target_utilisation,
       c.item ->> 'text_en' AS recommendation_en,
       c.item ->> 'text_ru' AS recommendation_ru,
       c.state, c.run_id
FROM capacity c
UNION ALL
SELECT p.decision_id, p.review_type, p.quarter,
       make_timestamptz(substr(p.quarter, 1, 4)::int, (substr(p.quarter, 6, 1)::int - 1) * 3 + 1,
                        1, 0, 0, 0, 'UTC'),
       p.subject_kind, p.subject, p.decision,
       p.decision, 'hosting',
       CASE WHEN p.current_annual IS NOT NULL AND p.chosen_annual IS NOT NULL
            THEN 'sized' ELSE 'unsized' END,
       p.current_annual::double precision, p.chosen_annual::double precision, NULL::double precision,
       p.currency || '/year', p.chosen, p.subject, p.chosen,
       round((p.chosen_annual - p.current_annual) / 12, 2)::double precision,
       (p.chosen_annual - p.current_annual)::double precision,
       p.currency,
       CASE WHEN p.current_annual IS NULL THEN 'no actual annual cost of ' || p.subject
            WHEN p.chosen_annual IS NULL THEN 'no projected TCO of ' || coalesce(p.chosen, '?')
       END,
       NULL::double precision, NULL::double precision,
       p.subject || ' -> ' || coalesce(p.chosen, '?') || ': '
           || coalesce(CASE WHEN p.chosen_annual >= p.current_annual THEN '+' ELSE '' END
                       || round(p.chosen_annual - p.current_annual)::text, 'unknown')
           || ' ' || coalesce(p.currency, '') || ' per year',
       p.subject || ' -> ' || coalesce(p.chosen, '?') || ': '
           || coalesce(CASE WHEN p.chosen_annual >= p.current_annual THEN '+' ELSE '' END
                       || round(p.chosen_annual - p.current_annual)::text, 'неизвестно')
           || ' ' || coalesce(p.currency, '') || ' в год',
       p.state, p.run_id
FROM provider p;

COMMENT ON VIEW reporting.recommendations IS
    'What each current action costs and how big it is: one row per resource of every current '
    'upgrade_ram, upgrade_cpu and add_server decision (current -> recommended, the plan, the '
    'monthly cost change, the projected utilisation after it), and one row per current '
    'migrate / evaluate_migration decision (the yearly cost difference).';
COMMENT ON COLUMN reporting.recommendations.decision_id IS 'The decision (reporting.current_decisions.decision_id).';
COMMENT ON COLUMN reporting.recommendations.review_type IS 'capacity or provider.';
COMMENT ON COLUMN reporting.recommendations.quarter IS 'Reviewed quarter, e.g. 2026Q3.';
COMMENT ON COLUMN reporting.recommendations.quarter_start IS 'First instant of the quarter (UTC), for time filters.';
COMMENT ON COLUMN reporting.recommendations.subject_kind IS 'server, fleet or provider.';
COMMENT ON COLUMN reporting.recommendations.subject IS 'The server, "fleet", or the current provider.';
COMMENT ON COLUMN reporting.recommendations.decision IS 'The decision of the record (its first action when a server gets two).';
COMMENT ON COLUMN reporting.recommendations.action IS 'The action this row sizes: upgrade_ram, upgrade_cpu, add_server, migrate or evaluate_migration.';
COMMENT ON COLUMN reporting.recommendations.resource IS 'ram, cpu, or hosting (a provider change).';
COMMENT ON COLUMN reporting.recommendations.sizing_status IS
    'sized (a plan holds the need), no_plan (no plan of the provider is large enough: see add_server) or unsized (a size, plan table or cost is missing; cost_note or the recommendation text says which).';
COMMENT ON COLUMN reporting.recommendations.current IS
    'Installed now, in unit: the server''s RAM or cores, the fleet''s total for add_server, the current provider''s actual annual cost for hosting.';
COMMENT ON COLUMN reporting.recommendations.recommended IS
    'After the action, in unit: the plan''s RAM or cores, the fleet''s total with the new server, the recommended provider''s projected annual TCO. NULL when no plan holds the need.';
COMMENT ON COLUMN reporting.recommendations.needed IS
    'What the sizing asks for, in unit: the projected use at the end of the next quarter divided by the target utilisation (for add_server, the part the current servers cannot hold).';
COMMENT ON COLUMN reporting.recommendations.unit IS 'GB, cores, or <currency>/year.';
COMMENT ON COLUMN reporting.recommendations.provider IS 'Hosting provider of the plan (for hosting: the recommended provider).';
COMMENT ON COLUMN reporting.recommendations.current_plan IS 'The server''s plan now (fleet.yaml), or the current provider for hosting.';
COMMENT ON COLUMN reporting.recommendations.plan IS 'The smallest plan that holds the need (the new server''s plan for add_server; the recommended provider for hosting).';
COMMENT ON COLUMN reporting.recommendations.monthly_cost_change IS
    'New plan''s monthly price minus the current plan''s (the new server''s price for add_server; the yearly difference / 12 for hosting), in currency. NULL when a price or an exchange rate is missing.';
COMMENT ON COLUMN reporting.recommendations.yearly_cost_change IS 'The cost change over a year, in currency.';
COMMENT ON COLUMN reporting.recommendations.currency IS 'The reporting currency of providers.yaml.';
COMMENT ON COLUMN reporting.recommendations.cost_note IS 'Why the cost change is unknown (the missing price or rate), else NULL.';
COMMENT ON COLUMN reporting.recommendations.projected_utilisation IS
    'Share (0-1) of the recommended size the projected use fills at the end of the next quarter (for add_server: of the new server). NULL for hosting.';
COMMENT ON COLUMN reporting.recommendations.target_utilisation IS 'The target the need is sized for (criteria.yaml server.upgrade_limit.target_utilisation).';
COMMENT ON COLUMN reporting.recommendations.recommendation_en IS 'The recommendation in English, e.g. "RAM 16 -> 32 GB (needs 22.1; plan vps-32g; +30 000 KZT/month; projected 55% used)".';
COMMENT ON COLUMN reporting.recommendations.recommendation_ru IS 'The recommendation in Russian.';
COMMENT ON COLUMN reporting.recommendations.state IS 'Lifecycle state of the decision (proposed, accepted, dismissed, implemented, confirmed, not_confirmed).';
COMMENT ON COLUMN reporting.recommendations.run_id IS 'The review run that made the decision.';

GRANT SELECT ON reporting.recommendations TO bi_reader;
