-- Collab JDBC storage, SQLite 3.35+. ${prefix} is the table prefix (empty by default).
-- Times are epoch microseconds (UTC) as INTEGER; TEXT compares in binary order (BINARY collation), like Java's String.
CREATE TABLE IF NOT EXISTS ${prefix}collab_meta (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  last_revision INTEGER NOT NULL,
  last_event_id INTEGER NOT NULL
);
INSERT OR IGNORE INTO ${prefix}collab_meta (id, last_revision, last_event_id) VALUES (1, 0, 0);
CREATE TABLE IF NOT EXISTS ${prefix}collab_records (
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  hash TEXT NOT NULL,
  value_json TEXT NOT NULL,
  PRIMARY KEY (collection, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ${prefix}collab_events (
  id INTEGER NOT NULL PRIMARY KEY,
  ts_micros INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  actor TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT NOT NULL
);
