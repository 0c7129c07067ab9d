-- Orders and scheduling (issue 14; docs/orders.md): the patients the hospital's ADT system
-- registered, the imaging orders (one row per requested procedure: the order, its Modality
-- Worklist item and its appointment), the Modality Performed Procedure Steps, the studies that
-- arrived without an order, and an audit row per change of an order. Times: unix ms UTC.

-- HL7 v2.5.1 PID (ADT^A04/A08), merged by ADT^A40. Not the index's `patients` table, which
-- holds what the images say.
CREATE TABLE order_patients (
  patient_id            TEXT NOT NULL,             -- PID-3.1
  issuer_of_patient_id  TEXT NOT NULL DEFAULT '',  -- PID-3.4.1
  patient_name          TEXT NOT NULL DEFAULT '',  -- DICOM PN form
  birth_date            TEXT NOT NULL DEFAULT '',  -- YYYYMMDD
  sex                   TEXT NOT NULL DEFAULT '',
  address               TEXT NOT NULL DEFAULT '',
  phone                 TEXT NOT NULL DEFAULT '',
  merged_into           TEXT NOT NULL DEFAULT '',  -- the surviving PatientID after an A40
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  PRIMARY KEY (patient_id, issuer_of_patient_id)
);

CREATE TABLE orders (
  id                    INTEGER PRIMARY KEY,
  placer_order_number   TEXT NOT NULL DEFAULT '',   -- ORC-2
  filler_order_number   TEXT NOT NULL DEFAULT '',   -- ORC-3
  accession_number      TEXT NOT NULL DEFAULT '',   -- OBR-18 / IPC-1
  patient_id            TEXT NOT NULL DEFAULT '',
  issuer_of_patient_id  TEXT NOT NULL DEFAULT '',
  patient_name          TEXT NOT NULL DEFAULT '',
  patient_name_key      TEXT NOT NULL DEFAULT '',   -- lower case, for the prefix filter
  birth_date            TEXT NOT NULL DEFAULT '',
  sex                   TEXT NOT NULL DEFAULT '',
  requested_procedure_id TEXT NOT NULL DEFAULT '',  -- (0040,1001)
  procedure_code        TEXT NOT NULL DEFAULT '',   -- OBR-4.1
  procedure_scheme      TEXT NOT NULL DEFAULT '',   -- OBR-4.3
  procedure_text        TEXT NOT NULL DEFAULT '',   -- OBR-4.2
  modality              TEXT NOT NULL DEFAULT '',
  body_part             TEXT NOT NULL DEFAULT '',
  priority              TEXT NOT NULL DEFAULT 'ROUTINE'
                        CHECK (priority IN ('STAT', 'HIGH', 'ROUTINE', 'MEDIUM', 'LOW')),
  reason                TEXT NOT NULL DEFAULT '',
  referring_physician   TEXT NOT NULL DEFAULT '',
  station_ae            TEXT NOT NULL DEFAULT '',
  station_name          TEXT NOT NULL DEFAULT '',
  procedure_step_id     TEXT NOT NULL DEFAULT '',   -- (0040,0009)
  study_uid             TEXT NOT NULL,              -- the StudyInstanceUID the modality is to use
  scheduled_at          INTEGER NOT NULL DEFAULT 0,
  duration_minutes      INTEGER NOT NULL DEFAULT 0,
  booked_at             INTEGER NOT NULL DEFAULT 0,
  status                TEXT NOT NULL DEFAULT 'scheduled'
                        CHECK (status IN ('scheduled', 'arrived', 'in_progress', 'completed',
                                          'discontinued', 'cancelled', 'no_show')),
  protocol_code         TEXT NOT NULL DEFAULT '',
  protocol_name         TEXT NOT NULL DEFAULT '',
  protocol_reason       TEXT NOT NULL DEFAULT '',
  protocol_rule         TEXT NOT NULL DEFAULT '',
  protocol_state        TEXT NOT NULL DEFAULT ''
                        CHECK (protocol_state IN ('', 'proposed', 'accepted', 'changed')),
  protocol_by           TEXT NOT NULL DEFAULT '',
  reminder_sent         INTEGER NOT NULL DEFAULT 0,
  noshow_risk           REAL NOT NULL DEFAULT -1,
  mpps_uid              TEXT NOT NULL DEFAULT '',
  performed_start       INTEGER NOT NULL DEFAULT 0,
  performed_end         INTEGER NOT NULL DEFAULT 0,
  linked_study_uid      TEXT NOT NULL DEFAULT '',
  source                TEXT NOT NULL DEFAULT '',   -- hl7 | fhir | rest | dicom
  worklist_json         TEXT NOT NULL DEFAULT '',   -- extra MWL attributes, DICOM JSON (PS3.18 F.2)
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
);
-- Uniqueness is the database's: a second order with a taken number fails its INSERT.
CREATE UNIQUE INDEX orders_placer ON orders(placer_order_number) WHERE placer_order_number != '';
CREATE UNIQUE INDEX orders_accession ON orders(accession_number) WHERE accession_number != '';
CREATE UNIQUE INDEX orders_study ON orders(study_uid);
CREATE INDEX orders_filler ON orders(filler_order_number) WHERE filler_order_number != '';
CREATE INDEX orders_linked_study ON orders(linked_study_uid) WHERE linked_study_uid != '';
CREATE INDEX orders_scheduled ON orders(scheduled_at, id);
CREATE INDEX orders_station ON orders(station_ae, scheduled_at);
CREATE INDEX orders_patient ON orders(patient_id, scheduled_at);
CREATE INDEX orders_status ON orders(status, scheduled_at);

CREATE TABLE order_audit (
  id        INTEGER PRIMARY KEY,
  order_id  INTEGER NOT NULL,
  at        INTEGER NOT NULL,
  user      TEXT NOT NULL DEFAULT '',
  action    TEXT NOT NULL,
  note      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_audit_order ON order_audit(order_id, id);

-- PS3.4 F.7: one row per Modality Performed Procedure Step SOP Instance.
CREATE TABLE mpps (
  sop_instance_uid  TEXT PRIMARY KEY,
  status            TEXT NOT NULL CHECK (status IN ('IN PROGRESS', 'COMPLETED', 'DISCONTINUED')),
  calling_ae        TEXT NOT NULL DEFAULT '',
  station_ae        TEXT NOT NULL DEFAULT '',
  modality          TEXT NOT NULL DEFAULT '',
  study_uid         TEXT NOT NULL DEFAULT '',
  accession_number  TEXT NOT NULL DEFAULT '',
  patient_id        TEXT NOT NULL DEFAULT '',
  order_id          INTEGER NOT NULL DEFAULT 0,
  started_at        INTEGER NOT NULL DEFAULT 0,
  ended_at          INTEGER NOT NULL DEFAULT 0,
  dataset_json      TEXT NOT NULL DEFAULT '',
  created_at        INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL
);
CREATE INDEX mpps_order ON mpps(order_id);
CREATE INDEX mpps_patient ON mpps(patient_id);

-- Studies that arrived with no order for their accession (reconciliation list).
CREATE TABLE unmatched_studies (
  study_uid          TEXT PRIMARY KEY,
  accession_number   TEXT NOT NULL DEFAULT '',
  patient_id         TEXT NOT NULL DEFAULT '',
  patient_name       TEXT NOT NULL DEFAULT '',
  modalities         TEXT NOT NULL DEFAULT '',
  study_date         TEXT NOT NULL DEFAULT '',
  arrived_at         INTEGER NOT NULL,
  resolved_by        TEXT NOT NULL DEFAULT '',
  resolved_order_id  INTEGER NOT NULL DEFAULT 0,
  resolved_at        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX unmatched_open ON unmatched_studies(arrived_at) WHERE resolved_by = '';
CREATE INDEX unmatched_patient ON unmatched_studies(patient_id);
CREATE INDEX unmatched_accession ON unmatched_studies(accession_number) WHERE resolved_by = '';

-- The reading worklist shows the order's reason for exam (docs/worklist.md).
ALTER TABLE worklist ADD COLUMN reason_for_exam TEXT NOT NULL DEFAULT '';
