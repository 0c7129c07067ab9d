-- The AI engine's durable state (storage::JobStore): a job queue that survives restarts,
-- the findings each job produced, and per-app enabled flags set through the API.
-- Times are unix ms. Foreign keys are off on radflow's connections, so JobStore removes a
-- job's findings itself (ReplaceFindings); the REFERENCES clause documents the relation.

CREATE TABLE ai_jobs (
  id               INTEGER PRIMARY KEY,
  app_id           TEXT NOT NULL,
  app_version      TEXT NOT NULL DEFAULT '',
  study_uid        TEXT NOT NULL DEFAULT '',
  series_uid       TEXT NOT NULL DEFAULT '',
  state            TEXT NOT NULL DEFAULT 'queued'
                   CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  priority         INTEGER NOT NULL DEFAULT 0,     -- higher first
  attempts         INTEGER NOT NULL DEFAULT 0,     -- started attempts so far
  max_attempts     INTEGER NOT NULL DEFAULT 1,
  not_before       INTEGER NOT NULL DEFAULT 0,     -- a retry waits until then (backoff)
  created_at       INTEGER NOT NULL,
  started_at       INTEGER NOT NULL DEFAULT 0,
  finished_at      INTEGER NOT NULL DEFAULT 0,
  trigger          TEXT NOT NULL DEFAULT '',
  error            TEXT NOT NULL DEFAULT '',
  summary          TEXT NOT NULL DEFAULT '',
  results_json     TEXT NOT NULL DEFAULT '[]',
  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1))
);
-- The scheduler's scan (JobStore::Runnable): queued jobs, highest priority, then oldest.
CREATE INDEX ai_jobs_runnable ON ai_jobs(state, priority DESC, id);
CREATE INDEX ai_jobs_series ON ai_jobs(series_uid);
CREATE INDEX ai_jobs_study ON ai_jobs(study_uid);

CREATE TABLE ai_findings (
  id            INTEGER PRIMARY KEY,
  job_fk        INTEGER NOT NULL REFERENCES ai_jobs(id) ON DELETE CASCADE,
  app_id        TEXT NOT NULL,
  study_uid     TEXT NOT NULL DEFAULT '',
  series_uid    TEXT NOT NULL DEFAULT '',
  type_code     TEXT NOT NULL DEFAULT '',   -- "value^scheme"
  type_meaning  TEXT NOT NULL DEFAULT '',
  label         TEXT NOT NULL DEFAULT '',
  x             REAL NOT NULL DEFAULT 0,    -- patient coordinates (LPS, mm)
  y             REAL NOT NULL DEFAULT 0,
  z             REAL NOT NULL DEFAULT 0,
  size_mm       REAL NOT NULL DEFAULT 0,
  volume_ml     REAL NOT NULL DEFAULT 0,
  score         REAL NOT NULL DEFAULT 0,
  severity      TEXT NOT NULL DEFAULT 'info'
                CHECK (severity IN ('info', 'low', 'moderate', 'high', 'critical')),
  details_json  TEXT NOT NULL DEFAULT '{}',
  created_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ai_findings_job ON ai_findings(job_fk);
CREATE INDEX ai_findings_study ON ai_findings(study_uid);
CREATE INDEX ai_findings_series ON ai_findings(series_uid);

CREATE TABLE ai_apps (
  app_id   TEXT PRIMARY KEY,
  enabled  INTEGER NOT NULL CHECK (enabled IN (0, 1))
);
