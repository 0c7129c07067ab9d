-- PostgreSQL form of ../002_stored_at_index.sql (docs/postgresql.md): the same tables, columns, constraints
-- and indexes; INTEGER is BIGINT, REAL DOUBLE PRECISION, generated keys are identities.
-- Start-up recovery reads the most recently stored rows (Index::LastStored).
CREATE INDEX instances_stored_at ON instances(stored_at);
