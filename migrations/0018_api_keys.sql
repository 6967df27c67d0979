-- 0018: API keys (docs/api.md "API keys"). The secret is never stored, only
-- its SHA-256 (hex); a rotation keeps the previous hash valid for a grace
-- period. Revoked keys stay listed. Times are unix ms.
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('ingest', 'read', 'admin')),
  secret_hash TEXT NOT NULL,
  previous_hash TEXT,
  previous_valid_until_ms INTEGER,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER,
  revoked_ms INTEGER,
  rotated_ms INTEGER
) WITHOUT ROWID;
