-- Remote AI workers (docs/remote-workers.md): a job taken by a `radflow worker` carries a
-- lease — who holds it and until when (unix ms, the hub's clock). A running job whose lease
-- passed goes back to the queue (JobStore::ExpireLeases); a job the hub runs itself has no
-- lease (lease_owner ''), so the two schedulers never mistake each other's jobs.
ALTER TABLE ai_jobs ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE ai_jobs ADD COLUMN lease_expires_at BIGINT NOT NULL DEFAULT 0;
-- The expiry sweep: running jobs by lease end.
CREATE INDEX ai_jobs_lease ON ai_jobs(state, lease_expires_at);
