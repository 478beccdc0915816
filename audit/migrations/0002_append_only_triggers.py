"""Append-only audit tables, enforced by PostgreSQL itself (hand-written; keep separate).

Every UPDATE and DELETE on audit_auditevent, audit_chainseal and audit_verificationrun
is refused. audit_decisionrecord allows exactly one UPDATE: finalising a proposal
(finalised_at from NULL to a time, only the final-call columns changing). Corrections
are new audit events that reference the old record.

TRUNCATE is deliberately not trapped: test databases are flushed with it, and only a
table owner can truncate. On SQLite this migration does nothing; the model layer
(audit/models.py) refuses the same changes.
"""

from django.db import migrations

FINAL_FIELDS = (
    "final_outcome",
    "decided_by_kind",
    "decided_by",
    "reviewer_reason",
    "overrode_ai",
    "finalised_at",
)
APPEND_ONLY_TABLES = ("audit_auditevent", "audit_chainseal", "audit_verificationrun")

FORWARD = [
    """
    CREATE OR REPLACE FUNCTION podium_audit_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'audit records are append-only: % on % refused (id %)',
            TG_OP, TG_TABLE_NAME, OLD.id
            USING HINT = 'Write a correcting audit event that references this one.';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE OR REPLACE FUNCTION podium_audit_decision_finalise_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE'
           AND OLD.finalised_at IS NULL
           AND NEW.finalised_at IS NOT NULL
           AND (to_jsonb(NEW) - ARRAY[{", ".join(f"'{f}'" for f in FINAL_FIELDS)}])
             = (to_jsonb(OLD) - ARRAY[{", ".join(f"'{f}'" for f in FINAL_FIELDS)}])
        THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION 'decision record % is written once and finalised once: % refused',
            OLD.id, TG_OP
            USING HINT = 'Record a correction as a new audit event that references it.';
    END;
    $$ LANGUAGE plpgsql;
    """,
    *(
        f"""
        CREATE TRIGGER {table}_append_only
        BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION podium_audit_refuse_change();
        """
        for table in APPEND_ONLY_TABLES
    ),
    """
    CREATE TRIGGER audit_decisionrecord_finalise_only
    BEFORE UPDATE OR DELETE ON audit_decisionrecord
    FOR EACH ROW EXECUTE FUNCTION podium_audit_decision_finalise_only();
    """,
]

BACKWARD = [
    *(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};" for table in APPEND_ONLY_TABLES),
    "DROP TRIGGER IF EXISTS audit_decisionrecord_finalise_only ON audit_decisionrecord;",
    "DROP FUNCTION IF EXISTS podium_audit_decision_finalise_only();",
    "DROP FUNCTION IF EXISTS podium_audit_refuse_change();",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in FORWARD:
            schema_editor.execute(sql, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in BACKWARD:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
