-- Start-up recovery reads the most recently stored rows (Index::LastStored).
CREATE INDEX instances_stored_at ON instances(stored_at);
