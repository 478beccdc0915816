"""PostgreSQL: the guard that makes a transition's single write refuse a stale run.

engine/pg_write.py ends its statement with podium_require_updated(hits, expected): if a
conditional step-run update missed, the statement fails with SQLSTATE PD001 and the
transaction keeps nothing, even when its COMMIT was sent with it.
"""

from django.db import migrations

from orchestration.pg_migrations import postgresql_only

CREATE = """
CREATE OR REPLACE FUNCTION podium_require_updated(updated bigint, expected integer)
RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    IF updated <> expected THEN
        RAISE EXCEPTION 'a step run changed status since it was read'
            USING ERRCODE = 'PD001';
    END IF;
    RETURN expected;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS podium_require_updated(bigint, integer)"


class Migration(migrations.Migration):
    dependencies = [("orchestration", "0001_initial")]

    operations = [postgresql_only(CREATE, DROP)]
