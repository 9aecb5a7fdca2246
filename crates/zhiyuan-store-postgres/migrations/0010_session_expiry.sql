-- Expired sessions are purged periodically; this finds them without a scan.
CREATE INDEX sessions_expires ON sessions (expires_at);
