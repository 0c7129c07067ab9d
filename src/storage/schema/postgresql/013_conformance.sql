-- PostgreSQL form of ../013_conformance.sql (docs/postgresql.md): the same tables, columns, constraints
-- and indexes; INTEGER is BIGINT, REAL DOUBLE PRECISION, generated keys are identities.
-- Conformance problems of each stored instance (issue 17; docs/wsi.md): what the IOD's
-- mandatory modules lack (dicom::CheckConformance), one problem per line, found at ingest.
-- '' means none found, or an instance stored before this version (not checked). Nothing is
-- refused for conformance: the column is a report.
ALTER TABLE instances ADD COLUMN conformance TEXT NOT NULL DEFAULT '';
