"""Count the SQL statements a block of code sends, with an execute wrapper.

Used by the ``X-Query-Count`` response header and by every sync run. It
works wherever Django runs (requests, Celery, commands), unlike silk,
which only sees the requests its middleware handles.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection


@dataclass
class QueryCounter:
    count: int = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Yield a counter of the statements sent on the default connection."""
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


class QueryCountHeaderMiddleware:
    """Add ``X-Query-Count`` to every response: the view's own statements."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with count_queries() as counter:
            response = self.get_response(request)
        response["X-Query-Count"] = str(counter.count)
        return response
