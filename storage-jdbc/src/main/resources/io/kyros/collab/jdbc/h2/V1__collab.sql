-- Collab JDBC storage, H2 2.x. ${prefix} is the table prefix (empty by default).
-- Times are epoch microseconds (UTC) as BIGINT; H2 compares strings in binary order, like Java's String.
CREATE TABLE IF NOT EXISTS ${prefix}collab_meta (
  id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  last_revision BIGINT NOT NULL,
  last_event_id BIGINT NOT NULL
);
MERGE INTO ${prefix}collab_meta USING (VALUES (1)) AS s(id) ON ${prefix}collab_meta.id = s.id
  WHEN NOT MATCHED THEN INSERT (id, last_revision, last_event_id) VALUES (1, 0, 0);
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
