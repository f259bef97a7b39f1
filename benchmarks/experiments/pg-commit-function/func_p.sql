\set n random(1, 64)
\startpipeline
BEGIN;
SELECT * FROM x_commit(9999, ARRAY[:n]::bigint[], ARRAY['_leases'], ARRAY['r' || :n], ARRAY[(SELECT revision FROM x_records WHERE collection = '_leases' AND id = 'r' || :n)], ARRAY[NULL::bigint], ARRAY['hhhhhhhhhhhhhhhhhhhhhh'], ARRAY['{"acquiredAt":"2026-12-03T14:04:23.291028Z","fence":34,"heartbeatAt":"2026-12-03T14:04:23.291028Z","holder":"bench","leaseId":"7daae663-b272-4488-b0ce-30cef5c2e683","resource":"bench-lease-7","ttl":"PT30S"}'], ARRAY['_leases'], ARRAY['r' || :n], ARRAY['_leases'], ARRAY['expires'], ARRAY['101796306693291028000'], ARRAY['r' || :n], ARRAY['lease_acquired'], ARRAY['bench'], ARRAY['leases/bench-lease-7'], ARRAY['{"expiresAt":"2026-12-03T14:04:53.291028Z","fence":34,"holder":"bench","leaseId":"7daae663-b272-4488-b0ce-30cef5c2e683","resource":"bench-lease-7","ttl":"PT30S"}']);
COMMIT;
\endpipeline
