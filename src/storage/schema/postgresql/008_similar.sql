-- PostgreSQL form of ../008_similar.sql (docs/postgresql.md): the same tables, columns, constraints
-- and indexes; INTEGER is BIGINT, REAL DOUBLE PRECISION, generated keys are identities.
-- Similar-case search (issue 13; docs/similar-cases.md): the feature vector of each lesion
-- finding (ai_findings.id), computed once from its SEG segment and CT series (IBSI
-- morphology and intensity statistics) or, when that is not possible, from the app's
-- measurements. The vector index is rebuilt from these rows at start and kept in memory.
CREATE TABLE similar_features (
  finding_id   BIGINT PRIMARY KEY,            -- ai_findings.id (given, never generated)
  feature_set  TEXT NOT NULL,                 -- version of the feature names (similar/features.h)
  source       TEXT NOT NULL CHECK (source IN ('ibsi', 'measurements')),
  values_text  TEXT NOT NULL,                 -- the raw (unstandardised) values, comma-separated
  error        TEXT NOT NULL DEFAULT '',      -- why IBSI features were not computed
  computed_at  BIGINT NOT NULL
);
