"""Insert rows into a model's table in one statement, skipping the ORM.

Building model instances and having bulk_create compile them costs more
than the writing itself for silk's wide rows. The columns and their
defaults still come from the model, so a column silk adds with a default
keeps working. On PostgreSQL the rows go in with COPY, and the writer's
transaction compresses with lz4 and does not wait for its WAL flush; most
of a batch's cost there is compressing the response bodies (pglz) and
flushing them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import models
from django.db.models.fields import AutoFieldMixin

logger = logging.getLogger(__name__)

# Per database alias: whether its server can compress with lz4.
_lz4_available: dict[str, bool] = {}


def writes_made_cheap(connection) -> None:
    """Make the current transaction's writes cheaper on PostgreSQL; else do nothing.

    ``synchronous_commit = off`` means a crash of the database server (not
    of this process) can lose the batches committed in its last moment;
    they are never half-written.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        if connection.alias not in _lz4_available:
            cursor.execute(
                "SELECT enumvals FROM pg_settings "
                "WHERE name = 'default_toast_compression'"
            )
            row = cursor.fetchone()
            _lz4_available[connection.alias] = bool(row and "lz4" in (row[0] or ()))
        cursor.execute("SET LOCAL synchronous_commit = off")
        if _lz4_available[connection.alias]:
            cursor.execute("SET LOCAL default_toast_compression = lz4")


class TableInserter:
    """Insert rows, given as {attribute name: value}, into ``model``'s table."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        # An auto-increment key is the database's to fill.
        self.fields = [
            f for f in model._meta.concrete_fields if not isinstance(f, AutoFieldMixin)
        ]

    def _values(self, rows: list[dict], connection) -> Iterator[tuple]:
        # One row's values at a time: a batch's worth of lists would all be
        # young objects for the garbage collector to walk.
        for row in rows:
            yield tuple(
                (
                    f.get_db_prep_save(row[f.attname], connection)
                    if isinstance(f, models.DateTimeField)
                    else row[f.attname]
                )
                if f.attname in row
                else f.get_db_prep_save(f.get_default(), connection)
                for f in self.fields
            )

    def insert(self, connection, rows: list[dict]) -> int:
        """Insert ``rows``; return the statements sent (one, or none for no rows).

        An attribute a row lacks gets the field's default.
        """
        if not rows:
            return 0
        quote = connection.ops.quote_name
        table = quote(self.model._meta.db_table)
        columns = ", ".join(quote(f.column) for f in self.fields)
        values = self._values(rows, connection)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", values
                )
        return 1
