"""Turn recorded requests into rows for silk's Request, Response and SQLQuery.

The request's headers, body and query string go through silk's own
RequestModelFactory, so they are masked exactly as silk masks them (the
query string, which silk stores as it came, has its sensitive keys masked
as well). The response body is stored as sent, not parsed and re-indented.
"""

from __future__ import annotations

import base64
import json
import linecache
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache

from django.conf import settings
from django.http import QueryDict
from django.http.request import HttpHeaders
from django.utils import timezone
from django.utils.http import parse_header_parameters
from silk.config import SilkyConfig
from silk.model_factory import RequestModelFactory

from crm.silk_recorder.capture import Frame, RecordedRequest
from crm.silk_recorder.sqltext import sql_text

MASK = RequestModelFactory.CLEANSED_SUBSTITUTE
_JSON_TYPES = ("application/json", "text/x-json")
# silk hides these request headers; a response's cookies are as secret.
_SECRET_RESPONSE_HEADERS = {"set-cookie", "authorization", "cookie"}


@lru_cache(maxsize=4)
def _pattern(keys: frozenset[str]) -> re.Pattern | None:
    if not keys:
        return None
    return re.compile("|".join(re.escape(key) for key in sorted(keys)), re.IGNORECASE)


def sensitive_pattern() -> re.Pattern | None:
    """Return silk's test for a sensitive key (a match anywhere, any case)."""
    return _pattern(frozenset(SilkyConfig().SILKY_SENSITIVE_KEYS or ()))


class _RequestCopy:
    """What silk's RequestModelFactory reads from a request, from a recording."""

    FILES: dict = {}

    def __init__(self, recorded: RecordedRequest, sensitive: re.Pattern | None):
        self.path = recorded.path
        self.method = recorded.method
        self.headers = HttpHeaders(recorded.meta)
        self.body = recorded.body or b""
        self._query_string = recorded.query_string
        self._sensitive = sensitive

    @cached_property
    def POST(self) -> QueryDict:
        return QueryDict(self.body)

    @cached_property
    def GET(self) -> QueryDict:
        query = QueryDict(self._query_string, mutable=True)
        if self._sensitive is not None:
            for key in list(query):
                if self._sensitive.search(key):
                    query.setlist(key, [MASK])
        return query


def _shorten(text: str | None) -> str | None:
    # Request.save() shortens these for its 190-character columns; the
    # rows here are inserted without it.
    if text and len(text) > 190:
        return f"{text[:94]}...{text[len(text) - 93 :]}"
    return text


def _when(seconds: float) -> datetime:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment if settings.USE_TZ else timezone.make_naive(moment)


@lru_cache(maxsize=1024)
def _traceback(stack: tuple[Frame, ...]) -> str:
    # silk's pages read a traceback as pairs of lines ("File ..." and the
    # code), innermost first. The same few stacks come back on every
    # request, hence the cache.
    return "".join(
        f'  File "{filename}", line {line}, in {function}\n'
        f"    {linecache.getline(filename, line).strip()}\n"
        for filename, line, function in stack
    )


def _request_row(recorded: RecordedRequest, sensitive) -> dict:
    factory = RequestModelFactory(_RequestCopy(recorded, sensitive))
    if recorded.multipart or recorded.body:
        body, raw_body = factory.body()
    else:
        # What silk's body() gives for no body, or one too big to keep.
        body, raw_body = "", ""
    if isinstance(raw_body, bytes):
        raw_body = raw_body.decode("utf-8", "replace")
    return {
        "id": str(uuid.uuid4()),
        "path": _shorten(recorded.path),
        "query_params": factory.query_params(),
        "raw_body": raw_body or "",
        "body": body or "",
        "method": recorded.method,
        "start_time": _when(recorded.started),
        "end_time": _when(recorded.started + recorded.duration),
        "time_taken": recorded.duration * 1000,
        "view_name": _shorten(recorded.view_name),
        "encoded_headers": factory.encoded_headers(),
        "meta_time": recorded.own_time * 1000,
        # The recorder sends no statements of its own during a request.
        "meta_num_queries": 0,
        "meta_time_spent_queries": 0.0,
        "num_sql_queries": len(recorded.queries),
    }


def _response_headers(recorded: RecordedRequest, sensitive) -> str:
    headers = {}
    for name, value in recorded.response_headers:
        secret = name.lower() in _SECRET_RESPONSE_HEADERS or (
            sensitive is not None and sensitive.search(name)
        )
        headers[name] = MASK if secret else value
    return json.dumps(headers, ensure_ascii=SilkyConfig().SILKY_JSON_ENSURE_ASCII)


def _response_row(recorded: RecordedRequest, request_id: str, sensitive) -> dict:
    content_type = ""
    charset = "utf-8"
    for name, value in recorded.response_headers:
        if name.lower() == "content-type":
            content_type, options = parse_header_parameters(value)
            charset = options.get("charset", charset)
    content = recorded.response_content
    body = raw_body = ""
    if content and content_type in _JSON_TYPES:
        # Stored as sent: the raw copy silk keeps next to it would be the
        # same text again, base64-encoded.
        try:
            body = content.decode(charset, "replace")
        except LookupError:
            body = content.decode("utf-8", "replace")
    elif content:
        raw_body = base64.b64encode(content).decode("ascii")
    return {
        "id": str(uuid.uuid4()),
        "request_id": request_id,
        "status_code": recorded.status_code,
        "encoded_headers": _response_headers(recorded, sensitive),
        "body": body,
        "raw_body": raw_body,
    }


def _query_rows(recorded: RecordedRequest, request_id: str, sensitive) -> list[dict]:
    return [
        {
            "query": sql_text(query.sql, query.params, sensitive),
            "start_time": _when(query.started),
            "end_time": _when(query.started + query.duration),
            "time_taken": query.duration * 1000,
            "identifier": number,
            "request_id": request_id,
            "traceback": _traceback(query.stack),
            "analysis": None,
        }
        for number, query in enumerate(recorded.queries, start=1)
    ]


@dataclass
class SilkRows:
    """Column values (by attribute name) for silk's three tables."""

    requests: list[dict] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)
    queries: list[dict] = field(default_factory=list)

    def add(self, recorded: RecordedRequest) -> None:
        """Add the rows of one recorded request."""
        sensitive = sensitive_pattern()
        request = _request_row(recorded, sensitive)
        self.requests.append(request)
        self.responses.append(_response_row(recorded, request["id"], sensitive))
        self.queries += _query_rows(recorded, request["id"], sensitive)
