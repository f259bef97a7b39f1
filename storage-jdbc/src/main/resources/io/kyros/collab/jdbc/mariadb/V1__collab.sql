-- Collab JDBC storage, MariaDB 10.6+ / MySQL 8. ${prefix} is the table prefix (empty by default).
-- Times are epoch microseconds (UTC) as BIGINT; names sort in binary order (utf8mb4_bin), like Java's String.
CREATE TABLE IF NOT EXISTS ${prefix}collab_meta (
  id INT NOT NULL PRIMARY KEY,
  last_revision BIGINT NOT NULL,
  last_event_id BIGINT NOT NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO ${prefix}collab_meta (id, last_revision, last_event_id) VALUES (1, 0, 0);
CREATE TABLE IF NOT EXISTS ${prefix}collab_records (
  collection VARCHAR(128) NOT NULL,
  id VARCHAR(128) NOT NULL,
  revision BIGINT NOT NULL,
  hash VARCHAR(100) NOT NULL,
  value_json LONGTEXT NOT NULL,
  PRIMARY KEY (collection, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS ${prefix}collab_events (
  id BIGINT NOT NULL PRIMARY KEY,
  ts_micros BIGINT NOT NULL,
  event_type TEXT NOT NULL,
  actor TEXT NOT NULL,
  target TEXT NOT NULL,
  details LONGTEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
