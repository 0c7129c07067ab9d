-- QIDO-RS at scale (issue 15, docs/query-plans.md). The same purposes as the SQLite 014.
-- The study list's order (study_date, study_time, id), so a LIMIT/OFFSET page is an
-- index-only scan; it also serves StudyDate ranges (studies_date is a prefix of it).
CREATE INDEX studies_date_time ON studies(study_date, study_time, id);
DROP INDEX IF EXISTS studies_date;
-- PatientName equality is lower(col) = lower(?) (sql_dialect SqlEqualsNoCase).
CREATE INDEX patients_name_lower ON patients(lower(patient_name));
-- Wildcards are ILIKE (SqlWildcardNoCase): a trigram index serves a literal prefix
-- ('SMITH%') and a leading '*' ('%SMITH%') alike.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX patients_name_trgm ON patients USING gin (patient_name gin_trgm_ops);
-- A patient's studies in list order, covering (studies_patient is a prefix of it).
CREATE INDEX studies_patient_date ON studies(patient_fk, study_date, study_time, id);
DROP INDEX IF EXISTS studies_patient;
