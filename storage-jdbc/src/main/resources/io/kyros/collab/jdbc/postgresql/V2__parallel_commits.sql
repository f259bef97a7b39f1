-- Collab JDBC storage, PostgreSQL: parallel commits. Revisions and event ids come from two sequences instead of the
-- counter row of V1, so commits no longer serialize on that row (docs/jdbc.md, "Commits on PostgreSQL").
-- CACHE 1 is required: readers take the event sequence's last_value as an upper bound of the ids handed out so far,
-- which a session caching values ahead would break. The counter row of V1 stays, no longer updated.
CREATE SEQUENCE IF NOT EXISTS ${prefix}collab_revision_seq AS BIGINT MINVALUE 1 CACHE 1;
CREATE SEQUENCE IF NOT EXISTS ${prefix}collab_event_seq AS BIGINT MINVALUE 1 CACHE 1;
-- A sequence behind what the counter row or the tables already hold (a store created before V2, or a sequence
-- dropped outside Collab and created again above) moves forward to it; a sequence in use is never moved back.
SELECT setval('${prefix}collab_revision_seq', m, true) FROM (SELECT GREATEST(
    (SELECT COALESCE(MAX(last_revision), 0) FROM ${prefix}collab_meta),
    (SELECT COALESCE(MAX(revision), 0) FROM ${prefix}collab_records)) AS m) AS counters
  WHERE m > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM ${prefix}collab_revision_seq);
SELECT setval('${prefix}collab_event_seq', m, true) FROM (SELECT GREATEST(
    (SELECT COALESCE(MAX(last_event_id), 0) FROM ${prefix}collab_meta),
    (SELECT COALESCE(MAX(id), 0) FROM ${prefix}collab_events)) AS m) AS counters
  WHERE m > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM ${prefix}collab_event_seq);
