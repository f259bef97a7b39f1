-- Collab JDBC storage, H2 2.x. ${prefix} is the table prefix (empty by default).
-- Times are epoch microseconds (UTC) as BIGINT; H2 compares strings in binary order, like Java's String.
CREATE TABLE IF NOT EXISTS ${prefix}collab_meta (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  last_revision BIGINT NOT NULL,
  last_event_id BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${prefix}collab_records (
  collection VARCHAR(128) NOT NULL,
  id VARCHAR(128) NOT NULL,
  revision BIGINT NOT NULL,
  hash VARCHAR(100) NOT NULL,
  value_json CHARACTER LARGE OBJECT NOT NULL,
  PRIMARY KEY (collection, id)
);
CREATE TABLE IF NOT EXISTS ${prefix}collab_events (
  id BIGINT NOT NULL PRIMARY KEY,
  ts_micros BIGINT NOT NULL,
  event_type VARCHAR(1000000) NOT NULL,
  actor VARCHAR(1000000) NOT NULL,
  target VARCHAR(1000000) NOT NULL,
  details CHARACTER LARGE OBJECT NOT NULL
);
-- The counter row: 0 and 0 on empty tables. If it is missing (deleted outside Collab), running this statement again
-- recreates it from the tables' maxima, so no surviving record's revision and no event id is handed out again.
MERGE INTO ${prefix}collab_meta USING (SELECT 1 AS id,
    (SELECT COALESCE(MAX(revision), 0) FROM ${prefix}collab_records) AS last_revision,
    (SELECT COALESCE(MAX(id), 0) FROM ${prefix}collab_events) AS last_event_id) AS s
  ON ${prefix}collab_meta.id = s.id
  WHEN NOT MATCHED THEN INSERT (id, last_revision, last_event_id) VALUES (s.id, s.last_revision, s.last_event_id);
