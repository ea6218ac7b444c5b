"""Count the SQL statements a block of code sends, with an execute wrapper.

Used by the ``X-Query-Count`` response header, by the query budgets the API
views declare, and by every sync run. It works wherever Django runs
(requests, Celery, commands), unlike silk, which only sees the requests its
middleware handles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection

logger = logging.getLogger(__name__)


@dataclass
class QueryCounter:
    count: int = 0

    def __call__(self, execute, sql, params, many, context):
        # Every statement counts: silk's recorder sends none during a request
        # (its rows are written after the response, or by its own thread).
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Yield a counter of the statements sent on the default connection."""
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def view_query_budget(request) -> int | None:
    """Return the statements the view of ``request`` allows for its method.

    A view declares ``query_budget`` as a number (for GET) or a mapping of
    method to number; the count includes authentication.
    """
    match = getattr(request, "resolver_match", None)
    view_class = getattr(getattr(match, "func", None), "view_class", None)
    budget = getattr(view_class, "query_budget", None)
    if isinstance(budget, dict):
        return budget.get(request.method)
    return budget if request.method in ("GET", "HEAD") else None


class QueryCountHeaderMiddleware:
    """Add ``X-Query-Count`` (and ``X-Query-Budget``) to every response.

    A request over its view's budget is logged as a warning; the tests in
    tests/crm/test_query_budgets.py fail on it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with count_queries() as counter:
            response = self.get_response(request)
        response["X-Query-Count"] = str(counter.count)
        budget = view_query_budget(request)
        if budget is not None:
            response["X-Query-Budget"] = str(budget)
            if counter.count > budget:
                logger.warning(
                    "query budget exceeded",
                    extra={
                        "path": request.path,
                        "queries": counter.count,
                        "budget": budget,
                    },
                )
        return response
