-- radflow index, version 1. One row per patient, study, series and instance.
-- Attribute columns hold UTF-8 values as DICOM encodes them (multi-values joined by '\').
-- Counters are maintained by the index in the same transaction as the instance rows.

CREATE TABLE patients (
  id              INTEGER PRIMARY KEY,
  patient_id      TEXT NOT NULL UNIQUE,   -- (0010,0020); '' when absent (Type 2)
  patient_name    TEXT NOT NULL DEFAULT '',
  birth_date      TEXT NOT NULL DEFAULT '',
  sex             TEXT NOT NULL DEFAULT '',
  num_studies     INTEGER NOT NULL DEFAULT 0,
  num_series      INTEGER NOT NULL DEFAULT 0,
  num_instances   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE studies (
  id                  INTEGER PRIMARY KEY,
  patient_fk          INTEGER NOT NULL REFERENCES patients(id),
  study_uid           TEXT NOT NULL UNIQUE,
  study_date          TEXT NOT NULL DEFAULT '',
  study_time          TEXT NOT NULL DEFAULT '',
  accession_number    TEXT NOT NULL DEFAULT '',
  study_id            TEXT NOT NULL DEFAULT '',
  study_description   TEXT NOT NULL DEFAULT '',
  referring_physician TEXT NOT NULL DEFAULT '',
  modalities          TEXT NOT NULL DEFAULT '',  -- ModalitiesInStudy, '\'-joined, sorted
  num_series          INTEGER NOT NULL DEFAULT 0,
  num_instances       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX studies_patient ON studies(patient_fk);
CREATE INDEX studies_date ON studies(study_date);
CREATE INDEX studies_accession ON studies(accession_number);

CREATE TABLE series (
  id                  INTEGER PRIMARY KEY,
  study_fk            INTEGER NOT NULL REFERENCES studies(id),
  series_uid          TEXT NOT NULL UNIQUE,
  modality            TEXT NOT NULL DEFAULT '',
  series_number       TEXT NOT NULL DEFAULT '',
  series_description  TEXT NOT NULL DEFAULT '',
  body_part           TEXT NOT NULL DEFAULT '',
  series_date         TEXT NOT NULL DEFAULT '',
  series_time         TEXT NOT NULL DEFAULT '',
  manufacturer        TEXT NOT NULL DEFAULT '',
  num_instances       INTEGER NOT NULL DEFAULT 0,
  updated_at          INTEGER NOT NULL DEFAULT 0   -- unix ms of the last stored instance
);
CREATE INDEX series_study ON series(study_fk);

CREATE TABLE instances (
  id                  INTEGER PRIMARY KEY,
  series_fk           INTEGER NOT NULL REFERENCES series(id),
  sop_uid             TEXT NOT NULL UNIQUE,
  sop_class_uid       TEXT NOT NULL,
  instance_number     TEXT NOT NULL DEFAULT '',
  rows                TEXT NOT NULL DEFAULT '',
  columns             TEXT NOT NULL DEFAULT '',
  number_of_frames    TEXT NOT NULL DEFAULT '',
  transfer_syntax_uid TEXT NOT NULL,
  blob_path           TEXT NOT NULL UNIQUE,   -- relative to the blob root
  blob_size           INTEGER NOT NULL,
  stored_at           INTEGER NOT NULL        -- unix ms
);
CREATE INDEX instances_series ON instances(series_fk);
