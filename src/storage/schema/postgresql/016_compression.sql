-- Lossless compression at rest (docs/compression.md): the background compactor re-encodes
-- the pixel data of configured modalities (JPEG-LS lossless) and records here the transfer
-- syntax the instance arrived in, which retrievals that name no syntax still get.
--   ''                     never looked at by the compactor
--   = transfer_syntax_uid  looked at and left as it is (no pixel data, or not encodable)
--   otherwise              compressed at rest; the value is the original syntax
ALTER TABLE instances ADD COLUMN original_transfer_syntax_uid TEXT NOT NULL DEFAULT '';
-- The compactor's pick: rows not looked at yet.
CREATE INDEX instances_original_ts ON instances(original_transfer_syntax_uid);
