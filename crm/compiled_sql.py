"""Keep the compiled SQL of hot queries per thread, so a repeat skips the ORM.

Building and compiling a queryset often costs more Python than running it:
the birthdays read spent 4.6 of 9.4 ms a request there (medium dataset),
a small LinkedIn push's lookup 5.6 ms against 0.4 ms of SQLite. Each thread
keeps, per key, the statement Django compiled and the converters Django
chose for its columns, and afterwards only executes the statement and
converts its rows as ``.values()`` / ``.values_list()`` would. Two ways in,
sharing the cache and the row conversion:

- ``cached_rows`` / ``cached_count``: the key holds everything the SQL
  depends on, values included (the owner's whole row, the local date, the
  page), so the statement is run again exactly as compiled.
- ``prepared_rows``: the key is the query's shape (its structure, e.g. how
  many values each list holds) and the values are arguments. The query is
  compiled once with stand-in values; each run puts the real values in the
  stand-ins' places in the parameter list. A stand-in that does not reach
  the parameters unaltered (used inside a pattern, a function) raises.

The cache holds SQL, never rows: new data shows at once. Per thread,
because a statement's converters come from the connection that compiled
it, and Django's connections are per thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet

logger = logging.getLogger(__name__)

# Keys per thread: a few per owner and day (sorts, pages), a few shapes per
# push; the least recently used go first. A key not kept is compiled
# again, which is what the ORM does anyway.
CACHE_SIZE = 512

_local = threading.local()


@dataclass(frozen=True)
class CompiledQuery:
    """A statement to run again; ``sql`` None means it has no rows.

    Per parameter, ``slots`` holds the argument's position, or None where
    ``constants`` holds the value compiled in. ``names`` are the columns in
    the order of a row; ``converters`` are (position, functions,
    expression) as Django's compiler applies them to each row.
    """

    using: str
    sql: str | None
    slots: tuple[int | None, ...]
    constants: tuple
    names: tuple[str, ...]
    converters: tuple

    def params(self, arguments: Sequence = ()) -> list:
        """Return the statement's parameters for these arguments."""
        connection = connections[self.using]
        adapted = [_adapted(value, connection) for value in arguments]
        return [
            constant if slot is None else adapted[slot]
            for slot, constant in zip(self.slots, self.constants, strict=True)
        ]

    def rows(self, arguments: Sequence = ()) -> list[tuple]:
        """Run the statement; return its rows as ``.values_list()`` does."""
        if self.sql is None:
            return []
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params(arguments))
            rows = cursor.fetchall()
        if not self.converters:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            values = list(row)
            for position, functions, expression in self.converters:
                value = values[position]
                for convert in functions:
                    value = convert(value, expression, connection)
                values[position] = value
            converted.append(tuple(values))
        return converted

    def dicts(self, arguments: Sequence = ()) -> list[dict]:
        """Run the statement; return one dict per row, as ``.values()`` does."""
        names = self.names
        return [dict(zip(names, row, strict=False)) for row in self.rows(arguments)]


def _adapted(value, connection):
    """Return ``value`` as Django sends it as a parameter of its column type."""
    if isinstance(value, uuid.UUID):
        # The UUID itself where the database has a uuid type, else its 32
        # hex digits (as Django stores it).
        if connection.features.has_native_uuid_field:
            return value
        return value.hex
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _column_names(query) -> tuple[str, ...]:
    # The column order ValuesIterable reads a row in.
    if query.selected:
        return tuple(query.selected)
    return (*query.extra_select, *query.values_select, *query.annotation_select)


def compile_query(queryset: QuerySet, *, stand_ins: Sequence = ()) -> CompiledQuery:
    """Compile ``queryset`` (a values or values_list one) into a CompiledQuery.

    Each of ``stand_ins`` becomes an argument slot wherever its adapted
    value is a parameter; one missing from the parameters raises
    RuntimeError. Without stand-ins every parameter is a constant.
    """
    query = queryset.query
    connection = connections[queryset.db]
    compiler = query.get_compiler(queryset.db)
    names = _column_names(query)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        # No rows whatever the values: the structure alone decided it.
        return CompiledQuery(queryset.db, None, (), (), names, ())
    positions = {_adapted(value, connection): i for i, value in enumerate(stand_ins)}
    slots: list[int | None] = []
    constants: list = []
    for param in params:
        try:
            slot = positions.get(param)
        except TypeError:  # an unhashable constant (a list, a dict)
            slot = None
        slots.append(slot)
        constants.append(param if slot is None else None)
    missing = set(range(len(stand_ins))) - set(slots)
    if missing:
        raise RuntimeError(f"arguments {sorted(missing)} are not query parameters")
    fields = [selected[0] for selected in compiler.select[: compiler.col_count]]
    converters = tuple(
        (position, tuple(functions), expression)
        for position, (functions, expression) in compiler.get_converters(fields).items()
    )
    return CompiledQuery(
        using=queryset.db,
        sql=sql,
        slots=tuple(slots),
        constants=tuple(constants),
        names=names,
        converters=converters,
    )


def compile_rows(queryset: QuerySet, names: tuple[str, ...]) -> CompiledQuery:
    """Compile ``queryset.values(*names)``, every value compiled in."""
    return compile_query(queryset.values(*names))


# Stand-ins are values no stored row and no constant of a query has: a
# NUL never reaches a query (validation refuses it in pushed strings), the
# UUIDs are random per process, the times fall in 1903 to the microsecond.
_UUID_BASE = uuid.uuid4().int >> 32 << 32
_TIME_BASE = dt.datetime(1903, 1, 1, tzinfo=dt.UTC)


def _stand_in(position: int, sample):
    if isinstance(sample, str):
        return f"\x00prepared:{position}\x00"
    if isinstance(sample, uuid.UUID):
        return uuid.UUID(int=_UUID_BASE + position)
    if isinstance(sample, dt.datetime):
        return _TIME_BASE + dt.timedelta(microseconds=position + 1)
    raise TypeError(f"no stand-in for a {type(sample).__name__} argument")


def prepare(build: Callable[[list], QuerySet], arguments: Sequence) -> CompiledQuery:
    """Compile ``build(stand-ins of arguments)``; run it with ``.rows(arguments)``.

    ``arguments`` are strings, UUIDs and aware datetimes; only their types
    are used here. ``build`` must use each one only as a whole parameter
    value (an ``exact``, ``in`` or comparison lookup, a ``Value``), never
    inside a pattern or an expression that changes it: a stand-in missing
    from the parameters raises RuntimeError, so such a builder fails loudly.
    """
    stand_ins = [_stand_in(i, value) for i, value in enumerate(arguments)]
    return compile_query(build(stand_ins), stand_ins=stand_ins)


@dataclass(frozen=True)
class CompiledCount:
    """A ``SELECT COUNT(*)`` statement, as ``QuerySet.count()`` sends it."""

    using: str
    sql: str | None
    params: tuple

    def fetch(self) -> int:
        if self.sql is None:
            return 0
        with connections[self.using].cursor() as cursor:
            cursor.execute(self.sql, self.params)
            return int(cursor.fetchone()[0])


class _StatementRecorder:
    """An execute wrapper that keeps the statements it lets through."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, tuple(params or ())))
        return execute(sql, params, many, context)


def compile_count(queryset: QuerySet) -> tuple[CompiledCount, int]:
    """Run ``queryset.count()``; return its statement, to run again, and the count.

    The statement is recorded as Django sends it, rather than rebuilt here.
    """
    connection = connections[queryset.db]
    recorder = _StatementRecorder()
    with connection.execute_wrapper(recorder):
        total = queryset.count()
    if not recorder.statements:
        # Django knew the answer without asking (an empty filter).
        return CompiledCount(using=queryset.db, sql=None, params=()), total
    if len(recorder.statements) != 1:
        raise RuntimeError(f"count() sent {len(recorder.statements)} statements")
    sql, params = recorder.statements[0]
    return CompiledCount(using=queryset.db, sql=sql, params=params), total


def owner_key(owner) -> tuple:
    """Return every column of ``owner``'s row, as part of a cache key.

    Values that are not hashable (the JSON settings) are keyed by repr.
    """
    values = []
    for field in owner._meta.concrete_fields:
        value = getattr(owner, field.attname)
        values.append(value if isinstance(value, Hashable) else repr(value))
    return tuple(values)


def _cache() -> OrderedDict:
    cache = getattr(_local, "cache", None)
    if cache is None:
        cache = _local.cache = OrderedDict()
    return cache


def _kept(full_key: tuple, compile_it: Callable[[], object]):
    """Return the cached value of ``full_key``, compiling and keeping it if new."""
    cache = _cache()
    compiled = cache.get(full_key)
    if compiled is None:
        compiled = cache[full_key] = compile_it()
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(full_key)
    return compiled


def cached_rows(
    key: tuple, build: Callable[[], QuerySet], names: tuple[str, ...]
) -> list[dict]:
    """Return the rows of ``build()`` as dicts of ``names``, compiled once per key.

    ``key`` must hold everything the SQL depends on; ``build`` is called
    only when this thread has not compiled ``key`` yet.
    """
    return _kept(("rows", *key), lambda: compile_rows(build(), names)).dicts()


def cached_count(key: tuple, build: Callable[[], QuerySet]) -> int:
    """Return ``build().count()``, its statement recorded once per key."""
    full_key = ("count", *key)
    cache = _cache()
    if full_key in cache:
        cache.move_to_end(full_key)
        return cache[full_key].fetch()
    compiled, total = compile_count(build())
    _kept(full_key, lambda: compiled)
    return total


def prepared_query(
    shape: tuple, build: Callable[[list], QuerySet], arguments: Sequence
) -> CompiledQuery:
    """Return the CompiledQuery of ``shape``, compiling it on first use.

    ``shape`` must tell apart every structure ``build`` can produce, and
    the number and types of its arguments.
    """
    return _kept(("prepared", *shape), lambda: prepare(build, arguments))


def prepared_rows(
    shape: tuple, build: Callable[[list], QuerySet], arguments: Sequence
) -> list[tuple]:
    """Return the rows of ``build(arguments)``, compiled once per ``shape``."""
    return prepared_query(shape, build, arguments).rows(arguments)


def cache_clear() -> None:
    """Forget this thread's compiled statements (tests use it)."""
    _cache().clear()
