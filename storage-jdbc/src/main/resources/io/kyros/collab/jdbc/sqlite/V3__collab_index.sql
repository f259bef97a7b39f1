-- Collab JDBC storage, SQLite 3.35+: secondary indexes (version 3; an older store gains the table, empty).
-- ${prefix} is the table prefix. One row per index entry of a record; TEXT compares in binary order (BINARY).
-- The primary key serves scans (an index range scan in key order); the unique key finds a record's entries, and
-- allows at most one entry per index and record.
CREATE TABLE IF NOT EXISTS ${prefix}collab_index (
  collection TEXT NOT NULL,
  index_name TEXT NOT NULL,
  index_key TEXT NOT NULL,
  record_id TEXT NOT NULL,
  PRIMARY KEY (collection, index_name, index_key, record_id),
  UNIQUE (collection, record_id, index_name)
) WITHOUT ROWID;
