"""A JSON field that keeps documents exactly as written."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from django.db import models


class DocumentField(models.JSONField):
    """JSON whose key order is kept on PostgreSQL too.

    PostgreSQL's `jsonb` sorts object keys, which would reorder a flow author's
    definition (and so its YAML export) and the fields of case data; its `json` type
    stores the text as given. Documents stored here are read whole, never queried into.
    """

    def db_type(self, connection: Any) -> str:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        from psycopg.types.json import Json

        return Json(value, dumps=partial(json.dumps, cls=self.encoder))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None or not isinstance(value, str):
            return value  # psycopg already decoded a `json` column
        return super().from_db_value(value, expression, connection)
