-- Per-table and per-role settings for c2c-ops (psql -d c2c_ops -f deploy/postgres-tables.sql),
-- after `manage.py migrate`. The rollup tables' autovacuum is set by their migration.

-- Queue-like tables: rows are inserted and deleted within minutes. Vacuum after a few
-- hundred dead rows rather than after a fifth of the table, so claims stay index scans.
ALTER TABLE tracking_statuschange SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
ALTER TABLE tracking_changedtransaction SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
ALTER TABLE dashboards_changedcontract SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
ALTER TABLE dashboards_pendingrollup SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
ALTER TABLE dashboards_breakchange SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);

-- Behind PgBouncer (DB_POOL_MODE=transaction) the app cannot turn JIT off per session:
-- PgBouncer refuses the `options` startup parameter. Set it on the app's role instead.
ALTER ROLE CURRENT_USER SET jit = off;
