-- Collab JDBC storage, PostgreSQL 13+. ${prefix} is the table prefix (empty by default).
-- Times are epoch microseconds (UTC) as BIGINT; names sort in binary order (COLLATE "C"), like Java's String.
CREATE TABLE IF NOT EXISTS ${prefix}collab_meta (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  last_revision BIGINT NOT NULL,
  last_event_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${prefix}collab_records (
  collection VARCHAR(128) COLLATE "C" NOT NULL,
  id VARCHAR(128) COLLATE "C" NOT NULL,
  revision BIGINT NOT NULL,
  hash VARCHAR(100) NOT NULL,
  value_json TEXT NOT NULL,
  PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS ${prefix}collab_events (
  id BIGINT NOT NULL PRIMARY KEY,
  ts_micros BIGINT NOT NULL,
  event_type TEXT NOT NULL,
  actor TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT NOT NULL
);
-- The counter row: 0 and 0 on empty tables. If it is missing (deleted outside Collab), running this statement again
-- recreates it from the tables' maxima, so no surviving record's revision and no event id is handed out again.
INSERT INTO ${prefix}collab_meta (id, last_revision, last_event_id)
  SELECT 1, (SELECT COALESCE(MAX(revision), 0) FROM ${prefix}collab_records),
    (SELECT COALESCE(MAX(id), 0) FROM ${prefix}collab_events)
  WHERE NOT EXISTS (SELECT 1 FROM ${prefix}collab_meta WHERE id = 1)
  ON CONFLICT (id) DO NOTHING;
