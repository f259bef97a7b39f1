\set n random(1, 64)
\startpipeline
BEGIN;
SELECT set_config('lock_timeout', CAST(9999 AS BIGINT) || 'ms', true) IS NOT NULL;
SELECT count(*) FROM (SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(ARRAY[:n] AS BIGINT[])) AS k) AS locked;
WITH t(n) AS MATERIALIZED (SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT), c AS MATERIALIZED (SELECT t.n, COALESCE((SELECT r.revision FROM x_records r WHERE r.collection = '_leases' AND r.id = 'r' || :n), 0) AS r0 FROM t), f AS MATERIALIZED (SELECT c.n, CASE WHEN c.r0 < 0 OR c.n > NULL THEN 0 ELSE -1 END AS failed, ARRAY[c.r0] AS r FROM c) SELECT f.n, f.failed, CASE WHEN f.failed >= 0 THEN f.r[f.failed + 1] ELSE 0 END, set_config('collab.commit_micros', CASE WHEN f.failed < 0 THEN CAST(f.n AS TEXT) ELSE '' END, true) IS NOT NULL FROM f;
SELECT CASE WHEN current_setting('collab.commit_micros') <> '' THEN pg_current_xact_id() END;
WITH changed AS (UPDATE x_records SET revision = nextval('x_rev'), hash = 'hhhhhhhhhhhhhhhhhhhhhh', value_json = '{"acquiredAt":"2026-12-03T14:04:23.291028Z","fence":34,"heartbeatAt":"2026-12-03T14:04:23.291028Z","holder":"bench","leaseId":"7daae663-b272-4488-b0ce-30cef5c2e683","resource":"bench-lease-7","ttl":"PT30S"}' WHERE collection = '_leases' AND id = 'r' || :n AND current_setting('collab.commit_micros') <> '' RETURNING revision) SELECT CASE WHEN count(*) = 1 THEN max(revision) WHEN NOT (current_setting('collab.commit_micros') <> '') THEN 0 ELSE CAST('collab_row_count_failed:' || count(*) AS BIGINT) END FROM changed;
DELETE FROM x_index WHERE ((collection = '_leases' AND record_id = 'r' || :n)) AND current_setting('collab.commit_micros') <> '';
INSERT INTO x_index (collection, index_name, index_key, record_id) SELECT * FROM (VALUES ('_leases', 'expires', '101796306693291028000', 'r' || :n)) AS v WHERE current_setting('collab.commit_micros') <> '';
INSERT INTO x_events (id, ts_micros, event_type, actor, target, details) SELECT * FROM (VALUES (nextval('x_ev'), CAST(current_setting('collab.commit_micros') AS BIGINT), 'lease_acquired', 'bench', 'leases/bench-lease-7', '{"expiresAt":"2026-12-03T14:04:53.291028Z","fence":34,"holder":"bench","leaseId":"7daae663-b272-4488-b0ce-30cef5c2e683","resource":"bench-lease-7","ttl":"PT30S"}')) AS v WHERE current_setting('collab.commit_micros') <> '' RETURNING id;
COMMIT;
\endpipeline
