-- The reading worklist (docs/worklist.md): one item per study with its reading state, its
-- claim, its timestamps and its priority, and an audit row per change. Times: unix ms.

CREATE TABLE worklist (
  study_uid             TEXT PRIMARY KEY,
  patient_id            TEXT NOT NULL DEFAULT '',
  issuer_of_patient_id  TEXT NOT NULL DEFAULT '',
  patient_name          TEXT NOT NULL DEFAULT '',
  patient_name_key      TEXT NOT NULL DEFAULT '',   -- lower case, for the prefix filter
  birth_date            TEXT NOT NULL DEFAULT '',
  sex                   TEXT NOT NULL DEFAULT '',
  accession_number      TEXT NOT NULL DEFAULT '',
  study_date            TEXT NOT NULL DEFAULT '',
  study_time            TEXT NOT NULL DEFAULT '',
  study_description     TEXT NOT NULL DEFAULT '',
  modalities            TEXT NOT NULL DEFAULT '',   -- ModalitiesInStudy, '\'-joined
  body_part             TEXT NOT NULL DEFAULT '',
  site                  TEXT NOT NULL DEFAULT '',   -- InstitutionName
  referring_physician   TEXT NOT NULL DEFAULT '',
  order_priority        TEXT NOT NULL DEFAULT '',   -- STAT | HIGH | ROUTINE | MEDIUM | LOW | ''
  state                 TEXT NOT NULL DEFAULT 'unread'
                        CHECK (state IN ('unread', 'in_progress', 'preliminary', 'final', 'cancelled')),
  reopened_from         TEXT NOT NULL DEFAULT '',   -- 'preliminary' while a claim reopened one
  reader                TEXT NOT NULL DEFAULT '',
  claimed_at            INTEGER NOT NULL DEFAULT 0,
  claim_expires_at      INTEGER NOT NULL DEFAULT 0,
  arrived_at            INTEGER NOT NULL,
  completed_at          INTEGER NOT NULL DEFAULT 0,
  read_started_at       INTEGER NOT NULL DEFAULT 0,
  reported_at           INTEGER NOT NULL DEFAULT 0,
  ai_flag               TEXT NOT NULL DEFAULT 'none',
  ai_rank               INTEGER NOT NULL DEFAULT 0,  -- 0 none, 1 info … 5 critical
  ai_reason             TEXT NOT NULL DEFAULT '',
  ai_pending            INTEGER NOT NULL DEFAULT 0,
  priority_score        INTEGER NOT NULL DEFAULT 0,
  priority_reasons      TEXT NOT NULL DEFAULT '',    -- one reason per line
  num_series            INTEGER NOT NULL DEFAULT 0,
  num_instances         INTEGER NOT NULL DEFAULT 0
);
-- The default list (open items by priority, then longest waiting) walks this index; it
-- covers every filter column, so that a filtered list and its count read no table rows
-- (100 000 items: p99 of a filtered list 7 ms instead of 64 ms, docs/benchmarks.md).
CREATE INDEX worklist_open ON worklist(priority_score DESC, arrived_at, ai_rank,
  body_part COLLATE NOCASE, modalities, site, order_priority, study_date, reader, patient_id,
  patient_name_key)
  WHERE state IN ('unread', 'in_progress', 'preliminary');
CREATE INDEX worklist_order ON worklist(priority_score DESC, arrived_at);
CREATE INDEX worklist_patient ON worklist(patient_id);
CREATE INDEX worklist_patient_name ON worklist(patient_name_key);
CREATE INDEX worklist_claims ON worklist(claim_expires_at) WHERE claim_expires_at > 0;

CREATE TABLE worklist_audit (
  id          INTEGER PRIMARY KEY,
  study_uid   TEXT NOT NULL,
  at          INTEGER NOT NULL,
  reader      TEXT NOT NULL DEFAULT '',
  action      TEXT NOT NULL,        -- arrived | claimed | released | expired | state | priority
  from_state  TEXT NOT NULL DEFAULT '',
  to_state    TEXT NOT NULL DEFAULT '',
  note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX worklist_audit_study ON worklist_audit(study_uid, id);
