-- The research hub (issue 18; docs/research.md): named, versioned cohorts with their study
-- list frozen into each version, and the de-identified exports made of them. Times: unix ms.

-- One row per cohort version. A new version of a name is the name's highest version + 1;
-- rows are never changed after they are written.
CREATE TABLE cohorts (
  id             INTEGER PRIMARY KEY,
  name           TEXT NOT NULL,
  version        INTEGER NOT NULL,
  description    TEXT NOT NULL DEFAULT '',
  criteria_json  TEXT NOT NULL DEFAULT '{}',   -- the criteria as given (research/criteria.h)
  created_by     TEXT NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL,
  patients       INTEGER NOT NULL DEFAULT 0,   -- the counts when the version was frozen
  studies        INTEGER NOT NULL DEFAULT 0,
  series         INTEGER NOT NULL DEFAULT 0,
  instances      INTEGER NOT NULL DEFAULT 0,
  lesions        INTEGER NOT NULL DEFAULT 0,
  UNIQUE (name, version)
);

-- The frozen selection of a version: per study, the series and the AI findings it includes.
CREATE TABLE cohort_studies (
  cohort_fk    INTEGER NOT NULL REFERENCES cohorts(id),
  study_uid    TEXT NOT NULL,
  series_json  TEXT NOT NULL DEFAULT '[]',   -- ["<SeriesInstanceUID>", ...]
  findings_json TEXT NOT NULL DEFAULT '[]',  -- [ai_findings.id, ...]
  PRIMARY KEY (cohort_fk, study_uid)
);

-- Export jobs. An export found running at start-up was interrupted: it is marked failed.
CREATE TABLE exports (
  id              INTEGER PRIMARY KEY,
  cohort_name     TEXT NOT NULL,
  cohort_version  INTEGER NOT NULL,
  options         TEXT NOT NULL DEFAULT '',    -- deid options, comma-separated
  formats         TEXT NOT NULL DEFAULT 'dicom,nifti,csv',
  out_dir         TEXT NOT NULL DEFAULT '',
  status          TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed')),
  done            INTEGER NOT NULL DEFAULT 0,
  total           INTEGER NOT NULL DEFAULT 0,
  error           TEXT NOT NULL DEFAULT '',
  manifest_json   TEXT NOT NULL DEFAULT '',
  created_by      TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  started_at      INTEGER NOT NULL DEFAULT 0,
  finished_at     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX exports_status ON exports(status, id);
