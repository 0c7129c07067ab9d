-- Security (issue 18; docs/authentication.md): local accounts, browser sessions and API
-- tokens. Secrets are never stored: passwords as Argon2id encoded hashes (RFC 9106),
-- session ids and tokens as the hex SHA-256 of their random value. Times are unix ms;
-- 0 means "never" / "not yet".
CREATE TABLE users (
  name             TEXT PRIMARY KEY,            -- the sign-in name, exact
  role             TEXT NOT NULL,               -- security::RoleName
  display_name     TEXT NOT NULL DEFAULT '',
  referring_name   TEXT NOT NULL DEFAULT '',    -- DICOM PN of the referring role's orders
  password_hash    TEXT NOT NULL DEFAULT '',    -- '' : no local password (tokens only)
  disabled         INTEGER NOT NULL DEFAULT 0,
  failed_count     INTEGER NOT NULL DEFAULT 0,  -- failed sign-ins since first_failure_at
  first_failure_at INTEGER NOT NULL DEFAULT 0,
  locked_until     INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  last_login       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
  id_hash        TEXT PRIMARY KEY,              -- SHA-256 (hex) of the cookie value
  user_name      TEXT NOT NULL,
  role           TEXT NOT NULL,
  method         TEXT NOT NULL,                 -- session | oidc-session
  referring_name TEXT NOT NULL DEFAULT '',
  display_name   TEXT NOT NULL DEFAULT '',
  source         TEXT NOT NULL DEFAULT '',      -- the peer address at sign-in
  created_at     INTEGER NOT NULL,
  last_seen      INTEGER NOT NULL,
  expires_at     INTEGER NOT NULL               -- absolute expiry
);
CREATE INDEX sessions_user ON sessions (user_name);

CREATE TABLE api_tokens (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  user_name  TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,              -- SHA-256 (hex) of the token
  label      TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL DEFAULT 0,        -- 0: never
  last_used  INTEGER NOT NULL DEFAULT 0,
  revoked_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_user ON api_tokens (user_name);
