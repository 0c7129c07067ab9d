-- PostgreSQL form of ../004_ai_routed.sql (docs/postgresql.md): the same tables, columns, constraints
-- and indexes; INTEGER is BIGINT, REAL DOUBLE PRECISION, generated keys are identities.
-- Which series the AI engine has routed, and when: at start-up the engine routes every
-- series stored (series.updated_at) after its last routing — a series whose SeriesStable
-- event was lost to a restart, or that received instances while the server was down.
CREATE TABLE ai_routed (
  series_uid  TEXT PRIMARY KEY,
  routed_at   BIGINT NOT NULL  -- unix ms
);
