-- Collab JDBC storage, H2 2.x: secondary indexes (version 3; an older store gains the table, empty).
-- ${prefix} is the table prefix. One row per index entry of a record; H2 compares strings in binary order.
-- The primary key serves scans (an index range scan in key order); the unique key finds a record's entries, and
-- allows at most one entry per index and record.
CREATE TABLE IF NOT EXISTS ${prefix}collab_index (
  collection VARCHAR(128) NOT NULL,
  index_name VARCHAR(200) NOT NULL,
  index_key VARCHAR(200) NOT NULL,
  record_id VARCHAR(128) NOT NULL,
  PRIMARY KEY (collection, index_name, index_key, record_id),
  UNIQUE (collection, record_id, index_name)
);
