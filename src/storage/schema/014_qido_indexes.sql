-- QIDO-RS at scale (issue 15, docs/query-plans.md).
-- The study list's order (study_date, study_time, id): one index serves it whole (the rowid,
-- which is id, ends every SQLite index), so a LIMIT/OFFSET page walks this index only.
-- It also serves StudyDate ranges, as studies_date did (a prefix of it, so dropped).
CREATE INDEX studies_date_time ON studies(study_date, study_time);
DROP INDEX studies_date;
-- PatientName: equality (= ? COLLATE NOCASE) and a wildcard with a literal prefix
-- (LIKE 'SMITH%', case-insensitive) use an index only when it is in the NOCASE collation.
CREATE INDEX patients_name_nocase ON patients(patient_name COLLATE NOCASE);
-- A patient's studies in list order, covering: a patient constraint (PatientID, a name)
-- picks patient ids, then their studies are sorted without reading a study row.
-- studies_patient is a prefix of it.
CREATE INDEX studies_patient_date ON studies(patient_fk, study_date, study_time);
DROP INDEX studies_patient;
