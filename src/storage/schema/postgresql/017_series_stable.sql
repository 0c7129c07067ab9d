-- PostgreSQL form of ../017_series_stable.sql (docs/postgresql.md): the same tables, columns,
-- constraints and indexes; INTEGER is BIGINT.
-- SeriesStable once across nodes (issue 15, docs/postgresql.md "Several nodes: events and
-- stability"): the node whose stable-series timer fires claims the firing here, in one
-- statement, only when the series' newest instance (any node's) is older than stable_after
-- and the series was not fired for its current instances already. The winner alone runs
-- the once-listeners (AI routing, worklist counts, report tracker).
CREATE TABLE series_stable (
  series_uid      TEXT PRIMARY KEY,
  study_uid       TEXT NOT NULL DEFAULT '',
  fired_for       BIGINT NOT NULL DEFAULT 0,  -- series.num_instances when it fired
  last_stored_at  BIGINT NOT NULL DEFAULT 0,  -- the newest instances.stored_at then (unix ms)
  fired_count     BIGINT NOT NULL DEFAULT 0,
  fired_at        BIGINT NOT NULL DEFAULT 0   -- unix ms
);
