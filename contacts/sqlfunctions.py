"""SQL expressions Django does not ship: whole days between two dates."""

from __future__ import annotations

from django.db.models import Func, IntegerField


class DaysBetween(Func):
    """Return the whole days from ``start`` to ``end``, two date expressions.

    ``DaysBetween(end, start)`` is ``end - start`` in days: positive when
    ``start`` is earlier. Both sides must already be dates (for a datetime,
    wrap it in ``TruncDate(..., tzinfo=...)`` so the day is the user's).
    """

    arity = 2
    output_field = IntegerField()
    # Date subtraction gives an integer number of days on PostgreSQL; other
    # backends with ANSI date arithmetic may work with it too, untested.
    template = "((%(expressions)s)::date)"
    arg_joiner = ")::date - ("

    def __init__(self, end, start, **extra) -> None:
        super().__init__(end, start, **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        # SQLite has no date type: julianday() turns the ISO date strings
        # into day numbers; both are midnights, so the difference is whole.
        return self.as_sql(
            compiler,
            connection,
            template="CAST(julianday(%(expressions)s) AS INTEGER)",
            arg_joiner=") - julianday(",
            **extra_context,
        )
