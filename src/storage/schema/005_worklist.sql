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

-- An archive upgraded to this version: its studies were read before the worklist existed.
-- They become final items (arrived when their first instance was stored), audited as
-- "migrated", instead of flooding the list as unread.
INSERT INTO worklist (study_uid, patient_id, patient_name, patient_name_key, birth_date, sex,
                      accession_number, study_date, study_time, study_description, modalities,
                      body_part, referring_physician, state, arrived_at, completed_at,
                      num_series, num_instances)
SELECT s.study_uid, p.patient_id, p.patient_name, lower(p.patient_name), p.birth_date, p.sex,
       s.accession_number, s.study_date, s.study_time, s.study_description, s.modalities,
       COALESCE((SELECT body_part FROM series WHERE study_fk = s.id AND body_part != ''
                 AND modality NOT IN ('SEG', 'SR', 'KO', 'PR') ORDER BY id LIMIT 1), ''),
       s.referring_physician, 'final',
       COALESCE((SELECT MIN(i.stored_at) FROM instances i JOIN series se ON se.id = i.series_fk
                 WHERE se.study_fk = s.id), 0),
       COALESCE((SELECT MAX(se.updated_at) FROM series se WHERE se.study_fk = s.id), 0),
       s.num_series, s.num_instances
FROM studies s JOIN patients p ON p.id = s.patient_fk;
INSERT INTO worklist_audit (study_uid, at, action, from_state, to_state, note)
SELECT study_uid, arrived_at, 'migrated', '', 'final', 'stored before the worklist existed'
FROM worklist;
