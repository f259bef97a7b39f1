\set n random(1, 64)
UPDATE x_records SET hash = 'h2', value_json = '{"a":1}' WHERE collection = '_leases' AND id = 'r' || :n AND revision > 0;
