-- PostgreSQL form of ../010_audit.sql (docs/postgresql.md): the same tables, columns, constraints
-- and indexes; INTEGER is BIGINT, REAL DOUBLE PRECISION, generated keys are identities.
-- The search index of the audit log (issue 18; docs/audit.md). The record itself is the line
-- of DATA/audit/audit.log at (offset, length); hash is its chain hash (hex SHA-256), so that
-- the newest row tells `radflow audit verify` where the log must end. Times are unix ms.
-- PostgreSQL: "user" and "offset" are reserved words, so the two columns are quoted (the
-- store's SQL quotes them too; SQLite accepts the quoted names as well).
CREATE TABLE audit_records (
  seq            BIGINT PRIMARY KEY,        -- the log's sequence number, given by the writer
  at             BIGINT NOT NULL,
  event          TEXT NOT NULL,             -- radflow's event name (src/audit/audit_event.h)
  event_id       TEXT NOT NULL,             -- DICOM EventID code value (DCM), e.g. 110114
  action         TEXT NOT NULL DEFAULT '',  -- EventActionCode C | R | U | D | E
  outcome        BIGINT NOT NULL DEFAULT 0 CHECK (outcome IN (0, 4, 8, 12)),
  "user"         TEXT NOT NULL DEFAULT '',
  role           TEXT NOT NULL DEFAULT '',
  source         TEXT NOT NULL DEFAULT '',  -- peer IP address (AE@IP for DIMSE)
  patient_id     TEXT NOT NULL DEFAULT '',
  patient_name   TEXT NOT NULL DEFAULT '',
  study_uid      TEXT NOT NULL DEFAULT '',
  detail         TEXT NOT NULL DEFAULT '',
  interface      TEXT NOT NULL DEFAULT '',  -- http | dimse | cli
  failure_reason TEXT NOT NULL DEFAULT '',
  hash           TEXT NOT NULL,
  "offset"       BIGINT NOT NULL,
  length         BIGINT NOT NULL
);
CREATE INDEX audit_records_at ON audit_records (at);
CREATE INDEX audit_records_user ON audit_records ("user", at);
CREATE INDEX audit_records_patient ON audit_records (patient_id, at);
CREATE INDEX audit_records_study ON audit_records (study_uid, at);
CREATE INDEX audit_records_event ON audit_records (event, at);
