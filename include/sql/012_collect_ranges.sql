-- 012: collection of real samples only (issue 13 items 5 and 6).

-- Active Bull jobs whose lock expired: their worker died, and n8n never moves them back.
INSERT INTO infra_review.metrics VALUES
    ('n8n_queue_stalled', 'jobs', 0, NULL,
     'n8n Bull queue: active jobs whose lock expired (dead worker); label = queue');

-- Which source loaded which series, so a re-collect of a range replaces that range for the
-- series the source covers (deleting points it no longer has) and never touches a series
-- only another source writes (an HTTP probe beside Prometheus, for example).
CREATE TABLE infra_review.series_sources (
    series_id integer NOT NULL REFERENCES infra_review.series (series_id) ON DELETE CASCADE,
    source    text NOT NULL,
    PRIMARY KEY (series_id, source)
);
COMMENT ON TABLE infra_review.series_sources IS
    'series a collector source has loaded; a re-collect replaces its range for these series';
