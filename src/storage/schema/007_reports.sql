-- Reports, AI result assessment, delivery outbox, follow-up recommendations, app admin
-- (issue 13; docs/reports.md). Times are unix ms; dates YYYYMMDD (DICOM DA).

-- One row per report version. A study's report starts as a draft (version 1); signing
-- makes it preliminary or final; an addendum is a new version (version + 1, a draft copied
-- from the signed one) that keeps the old row unchanged. External reports (HL7 ORU^R01 or
-- REST) arrive signed: origin 'hl7' | 'rest'.
CREATE TABLE reports (
  id                    INTEGER PRIMARY KEY,
  study_uid             TEXT NOT NULL DEFAULT '',   -- '' for an external report of no known study
  patient_id            TEXT NOT NULL DEFAULT '',
  issuer_of_patient_id  TEXT NOT NULL DEFAULT '',
  accession_number      TEXT NOT NULL DEFAULT '',
  version               INTEGER NOT NULL DEFAULT 1,
  status                TEXT NOT NULL CHECK (status IN ('draft', 'preliminary', 'final')),
  superseded            INTEGER NOT NULL DEFAULT 0 CHECK (superseded IN (0, 1)),  -- a later version was signed
  origin                TEXT NOT NULL DEFAULT 'radflow' CHECK (origin IN ('radflow', 'hl7', 'rest')),
  external_id           TEXT NOT NULL DEFAULT '',   -- OBR-3 filler order number / message control id
  template_id           TEXT NOT NULL DEFAULT '',
  content_json          TEXT NOT NULL DEFAULT '{}', -- the editor's document (fields, section texts)
  findings_text         TEXT NOT NULL DEFAULT '',
  impression_text       TEXT NOT NULL DEFAULT '',
  critical_communicated TEXT NOT NULL DEFAULT '',   -- '' or the statement (to whom, when)
  author                TEXT NOT NULL DEFAULT '',
  signed_by             TEXT NOT NULL DEFAULT '',
  signed_at             INTEGER NOT NULL DEFAULT 0,
  revision              INTEGER NOT NULL DEFAULT 0, -- autosave counter (optimistic concurrency)
  sr_series_uid         TEXT NOT NULL DEFAULT '',   -- the TID 2000 SR stored for this version
  sr_sop_uid            TEXT NOT NULL DEFAULT '',
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
);
CREATE INDEX reports_study ON reports(study_uid, version);
CREATE INDEX reports_patient ON reports(patient_id, issuer_of_patient_id);
CREATE INDEX reports_accession ON reports(accession_number);

-- A radiologist's assessment of one AI finding (ai_findings.id), newest row current; the
-- history is kept (IHE AI Results assessment: who, when, what, why).
CREATE TABLE finding_decisions (
  id            INTEGER PRIMARY KEY,
  finding_id    INTEGER NOT NULL,
  study_uid     TEXT NOT NULL,
  app_id        TEXT NOT NULL,
  app_version   TEXT NOT NULL DEFAULT '',
  report_id     INTEGER NOT NULL DEFAULT 0,
  decision      TEXT NOT NULL CHECK (decision IN ('accepted', 'edited', 'rejected')),
  reason        TEXT NOT NULL DEFAULT '',
  values_json   TEXT NOT NULL DEFAULT '{}',  -- the field values as accepted / edited
  sentence      TEXT NOT NULL DEFAULT '',    -- the sentence as accepted / edited
  reader        TEXT NOT NULL DEFAULT '',
  at            INTEGER NOT NULL
);
CREATE INDEX finding_decisions_finding ON finding_decisions(finding_id, id);
CREATE INDEX finding_decisions_study ON finding_decisions(study_uid);
CREATE INDEX finding_decisions_app ON finding_decisions(app_id, at);

-- Durable outbox: one row per (report version, receiver) message. Written in the signing
-- transaction; a sender retries until the receiver acknowledges (AA / CA).
CREATE TABLE report_outbox (
  id               INTEGER PRIMARY KEY,
  report_id        INTEGER NOT NULL REFERENCES reports(id),
  receiver         TEXT NOT NULL,             -- host:port as configured
  control_id       TEXT NOT NULL,             -- MSH-10
  result_status    TEXT NOT NULL,             -- OBR-25: P | F | C
  message          TEXT NOT NULL,             -- the HL7 v2.5.1 ORU^R01, segments \r-separated
  state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT NOT NULL DEFAULT '',
  ack              TEXT NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL,
  sent_at          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX report_outbox_due ON report_outbox(state, next_attempt_at);

-- Follow-up recommendations extracted from signed or received reports. 'overdue' is not
-- stored: a pending row whose due_date has passed is overdue (computed on read).
CREATE TABLE followups (
  id                    INTEGER PRIMARY KEY,
  report_id             INTEGER NOT NULL REFERENCES reports(id),
  study_uid             TEXT NOT NULL DEFAULT '',   -- the study whose report recommends it
  patient_id            TEXT NOT NULL DEFAULT '',
  issuer_of_patient_id  TEXT NOT NULL DEFAULT '',
  finding               TEXT NOT NULL DEFAULT '',
  modality              TEXT NOT NULL,              -- CT | MR | US | XR | MG | PT | NM
  body_region           TEXT NOT NULL DEFAULT '',
  interval_min_days     INTEGER NULL,               -- NULL: no interval given
  interval_max_days     INTEGER NULL,
  conditional           INTEGER NOT NULL DEFAULT 0 CHECK (conditional IN (0, 1)),
  text                  TEXT NOT NULL DEFAULT '',
  base_date             TEXT NOT NULL DEFAULT '',   -- the recommending study's date
  due_date              TEXT NOT NULL DEFAULT '',   -- base_date + interval (max), or + default
  state                 TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'satisfied', 'closed')),
  satisfied_by          TEXT NOT NULL DEFAULT '',   -- StudyInstanceUID of the matching study
  closed_reason         TEXT NOT NULL DEFAULT '',
  closed_by             TEXT NOT NULL DEFAULT '',
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
);
CREATE INDEX followups_patient ON followups(patient_id, issuer_of_patient_id, state);
CREATE INDEX followups_state ON followups(state, due_date);
CREATE INDEX followups_report ON followups(report_id);

-- App library administration: a pinned version per app, and every change recorded.
CREATE TABLE ai_app_pins (
  app_id   TEXT PRIMARY KEY,
  version  TEXT NOT NULL
);
CREATE TABLE ai_app_audit (
  id       INTEGER PRIMARY KEY,
  app_id   TEXT NOT NULL,
  at       INTEGER NOT NULL,
  actor    TEXT NOT NULL DEFAULT '',
  action   TEXT NOT NULL,              -- enabled | disabled | pinned | unpinned
  version  TEXT NOT NULL DEFAULT '',
  note     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ai_app_audit_app ON ai_app_audit(app_id, id);
