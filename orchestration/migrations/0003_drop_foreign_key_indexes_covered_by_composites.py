"""Drop the single-column indexes Django made for two foreign keys that composite
indexes already start with (steprun_instance, instance_flow_recent): each cost every
step's writes and served no query the composite does not.

Only the indexes go. Django's own AlterField would also drop and re-add the foreign
key constraints, which re-checks every row of the largest tables.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = [
    ("orchestration_flowinstance_flow_id_cf5b7770", "orchestration_flowinstance", "flow_id"),
    ("orchestration_steprun_instance_id_eb11f3d9", "orchestration_steprun", "instance_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0002_podium_require_updated"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for name, table, column in INDEXES
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="flowinstance",
                    name="flow",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="instances",
                        to="orchestration.flow",
                    ),
                ),
                migrations.AlterField(
                    model_name="steprun",
                    name="instance",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="step_runs",
                        to="orchestration.flowinstance",
                    ),
                ),
            ],
        ),
    ]
