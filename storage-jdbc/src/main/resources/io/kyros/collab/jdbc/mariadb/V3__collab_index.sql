-- Collab JDBC storage, MariaDB 10.6+ / MySQL 8: secondary indexes (version 3; an older store gains the table,
-- empty). ${prefix} is the table prefix. One row per index entry of a record; index names and keys are printable
-- ASCII compared byte-wise (ascii_bin), collection and record id as in collab_records (utf8mb4_bin).
-- The primary key serves scans (an index range scan in key order); the unique key finds a record's entries, and
-- allows at most one entry per index and record.
CREATE TABLE IF NOT EXISTS ${prefix}collab_index (
  collection VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  index_name VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  index_key VARCHAR(200) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  record_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (collection, index_name, index_key, record_id),
  UNIQUE KEY record_entries (collection, record_id, index_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
