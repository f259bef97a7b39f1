DROP TABLE IF EXISTS x_records, x_index, x_events CASCADE;
DROP SEQUENCE IF EXISTS x_rev, x_ev;
CREATE TABLE x_records (collection VARCHAR(128) COLLATE "C" NOT NULL, id VARCHAR(128) COLLATE "C" NOT NULL, revision BIGINT NOT NULL, hash VARCHAR(100) NOT NULL, value_json TEXT NOT NULL, PRIMARY KEY (collection, id));
CREATE TABLE x_index (collection VARCHAR(128) COLLATE "C" NOT NULL, index_name VARCHAR(64) COLLATE "C" NOT NULL, index_key VARCHAR(200) COLLATE "C" NOT NULL, record_id VARCHAR(128) COLLATE "C" NOT NULL, PRIMARY KEY (collection, index_name, index_key, record_id));
CREATE INDEX x_index_rec ON x_index (collection, record_id);
CREATE TABLE x_events (id BIGINT PRIMARY KEY, ts_micros BIGINT NOT NULL, event_type TEXT NOT NULL, actor TEXT NOT NULL, target TEXT NOT NULL, details TEXT NOT NULL);
CREATE SEQUENCE x_rev; CREATE SEQUENCE x_ev;
INSERT INTO x_records SELECT '_leases', 'r' || g, nextval('x_rev'), 'h', '{"fence":1}' FROM generate_series(1, 64) g;
CREATE OR REPLACE FUNCTION x_commit(lock_ms bigint, locks bigint[], e_coll text[], e_id text[], e_rev bigint[], e_until bigint[],
  w_hash text[], w_json text[], x_coll text[], x_id text[], i_coll text[], i_name text[], i_key text[], i_rec text[],
  v_type text[], v_actor text[], v_target text[], v_details text[],
  OUT micros bigint, OUT failed int, OUT actual bigint, OUT revisions bigint[], OUT event_ids bigint[])
LANGUAGE plpgsql AS $$
DECLARE r bigint; rv bigint;
BEGIN
  PERFORM set_config('lock_timeout', lock_ms || 'ms', true);
  PERFORM pg_advisory_xact_lock(k) FROM unnest(locks) AS k;
  micros := (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint;
  FOR i IN 1 .. coalesce(array_length(e_coll, 1), 0) LOOP
    SELECT x.revision INTO r FROM x_records x WHERE x.collection = e_coll[i] AND x.id = e_id[i];
    r := coalesce(r, 0);
    IF r <> e_rev[i] OR micros > e_until[i] THEN failed := i - 1; actual := r; RETURN; END IF;
  END LOOP;
  failed := -1; actual := 0;
  PERFORM pg_current_xact_id();
  revisions := '{}';
  FOR i IN 1 .. coalesce(array_length(w_hash, 1), 0) LOOP
    UPDATE x_records x SET revision = nextval('x_rev'), hash = w_hash[i], value_json = w_json[i]
      WHERE x.collection = e_coll[i] AND x.id = e_id[i] AND x.revision = e_rev[i] RETURNING x.revision INTO rv;
    IF NOT FOUND THEN RAISE EXCEPTION 'collab_row_count_failed' USING ERRCODE = '22P02'; END IF;
    revisions := revisions || rv;
  END LOOP;
  DELETE FROM x_index x WHERE (x.collection, x.record_id) IN (SELECT * FROM unnest(x_coll, x_id));
  INSERT INTO x_index SELECT * FROM unnest(i_coll, i_name, i_key, i_rec);
  WITH ins AS (INSERT INTO x_events SELECT nextval('x_ev'), micros, t, a, g, d FROM unnest(v_type, v_actor, v_target, v_details) AS u(t, a, g, d) RETURNING id)
    SELECT array_agg(id ORDER BY id) INTO event_ids FROM ins;
END $$;
