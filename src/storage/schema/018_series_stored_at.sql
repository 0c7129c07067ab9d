-- The instances of a series by storage time (issue 15, docs/postgresql.md "Several nodes:
-- events and stability"): replaces instances_series (series_fk alone), so one index serves
-- every series_fk lookup and also the newest instance of a series, MAX(stored_at), as one
-- seek: the stable claim (Index::ClaimSeriesStable) and the survivors' sweep for series a dead
-- node left unfired (Index::SeriesToStabilize). Before, that maximum was a backward scan of
-- instances_stored_at filtered by series_fk (about 130 ms for an old series at 400k
-- instances). Still one index on the column: the insert cost stays the same.
DROP INDEX IF EXISTS instances_series;
CREATE INDEX instances_series_stored_at ON instances(series_fk, stored_at);
