"""PostgreSQL: an index for the cases list's business key filter, which finds the keys
that start with what was typed, in any case (UPPER(key) LIKE 'INV-10%'): without it,
that filter reads every case at 100,000 cases (~200 ms; bench/instance_list.py)."""

from django.db import migrations

from orchestration.pg_migrations import postgresql_only

CREATE = (
    "CREATE INDEX IF NOT EXISTS instance_business_key_upper_prefix "
    'ON orchestration_flowinstance (UPPER("business_key"::text) text_pattern_ops)'
)
DROP = "DROP INDEX IF EXISTS instance_business_key_upper_prefix"


class Migration(migrations.Migration):
    dependencies = [("orchestration", "0006_step_undone_label")]

    operations = [postgresql_only(CREATE, DROP)]
