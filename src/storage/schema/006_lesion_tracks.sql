-- Longitudinal lesion tracking (docs/worklist.md, "Study page"): the follow-up of a study
-- against its most relevant prior (registration, state) and one row per tracked, new or
-- resolved lesion; the tracking identities of each study's findings (so that a lesion keeps
-- one Tracking UID across examinations). Times: unix ms.

CREATE TABLE lesion_followups (
  study_uid        TEXT PRIMARY KEY,
  prior_study_uid  TEXT NOT NULL DEFAULT '',
  state            TEXT NOT NULL,                 -- ok | failed
  error            TEXT NOT NULL DEFAULT '',
  matrix_json      TEXT NOT NULL DEFAULT '',      -- current → prior, row-major 4×4 (LPS mm)
  metric           REAL NOT NULL DEFAULT 0,       -- Mattes MI of the registration
  interval_days    REAL NOT NULL DEFAULT 0,
  sr_series_uid    TEXT NOT NULL DEFAULT '',      -- the follow-up's TID 1500 SR, if written
  sr_sop_uid       TEXT NOT NULL DEFAULT '',
  created_at       INTEGER NOT NULL
);

CREATE TABLE lesion_tracks (
  id                  INTEGER PRIMARY KEY,
  study_uid           TEXT NOT NULL,
  prior_study_uid     TEXT NOT NULL,
  finding_id          INTEGER NOT NULL DEFAULT 0,  -- ai_findings.id of the current (0: resolved)
  prior_finding_id    INTEGER NOT NULL DEFAULT 0,  -- of the prior (0: new)
  tracking_uid        TEXT NOT NULL,
  tracking_id         TEXT NOT NULL DEFAULT '',
  status              TEXT NOT NULL,               -- tracked | new | resolved
  trend               TEXT NOT NULL DEFAULT 'unknown',
  volume_change_pct   REAL NOT NULL DEFAULT 0,
  diameter_change_mm  REAL NOT NULL DEFAULT 0,
  doubling_time_days  REAL NULL,
  distance_mm         REAL NOT NULL DEFAULT 0,
  interval_days       REAL NOT NULL DEFAULT 0,
  current_json        TEXT NOT NULL DEFAULT '',    -- the findings as they were matched
  prior_json          TEXT NOT NULL DEFAULT '',
  created_at          INTEGER NOT NULL
);
CREATE INDEX lesion_tracks_study ON lesion_tracks (study_uid, id);

CREATE TABLE lesion_identities (
  study_uid     TEXT NOT NULL,
  finding_id    INTEGER NOT NULL,
  tracking_uid  TEXT NOT NULL,
  tracking_id   TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (study_uid, finding_id)
);
