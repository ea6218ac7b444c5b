"""Take what silk needs from one request, on the request's own thread.

Everything here runs inside the timed request, so it only copies
references and numbers: the statements as sent with their parameters, a
few (file, line, function) triples per statement, the request's headers
and body, the response's headers and content. Turning them into silk's
text (masking, JSON, SQL with its values) is left to crm.silk_recorder.rows,
which runs on the writer.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from types import CodeType, FrameType

import django
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.base import BaseHandler

# Frames in here are the recorder's own or the ORM's; the statement's
# "caller" is the first frame outside them.
_INTERNAL_DIRS = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.join(os.path.dirname(django.__file__), "db") + os.sep,
)
_LIBRARY_DIRS = tuple(
    {os.path.abspath(p) + os.sep for p in (sys.prefix, sys.base_prefix)}
)
_SKIP, _LIBRARY, _PROJECT, _STOP = 0, 1, 2, 3
# Frames above the view's (middleware, the WSGI server, a test client) are
# the same for every statement. Walking them would also make Python build a
# frame object for each, on every statement: young garbage that set off 75%
# more garbage collections on recorded requests than on the others.
_STOP_CODES = (BaseHandler._get_response.__code__,)
_MAX_FRAMES = 60
# One entry per code object ever seen: bounded by the program's code.
_kinds: dict[CodeType, int] = {}

Frame = tuple[str, int, str]


def _kind(code: CodeType, project_dir: str) -> int:
    if code in _STOP_CODES:
        return _STOP
    filename = code.co_filename
    if filename.startswith(_INTERNAL_DIRS):
        return _SKIP
    if filename.startswith(project_dir) and not filename.startswith(_LIBRARY_DIRS):
        return _PROJECT
    return _LIBRARY


def stack_summary(frame: FrameType | None, project_dir: str) -> tuple[Frame, ...]:
    """Return the frames worth showing for a statement, innermost first.

    They are the innermost frame outside the ORM (the code that sent the
    statement, wherever it lives) and every frame of the project's own code
    up to Django's request handler. silk formats the whole stack as text
    for every statement; this walks part of it and keeps a few tuples.
    """
    frames: list[Frame] = []
    caller_found = False
    for _ in range(_MAX_FRAMES):
        if frame is None:
            break
        code = frame.f_code
        kind = _kinds.get(code)
        if kind is None:
            kind = _kinds[code] = _kind(code, project_dir)
        if kind == _STOP:
            break
        if kind == _PROJECT or (kind == _LIBRARY and not caller_found):
            frames.append((code.co_filename, frame.f_lineno, code.co_name))
            caller_found = True
        frame = frame.f_back
    return tuple(frames)


@dataclass(slots=True)
class RecordedQuery:
    sql: str
    # None for executemany, whose parameter sets may be a one-shot iterator.
    params: object
    started: float  # seconds since the epoch
    duration: float  # seconds
    stack: tuple[Frame, ...]


class QueryCapture:
    """An execute wrapper that keeps a RecordedQuery for every statement."""

    __slots__ = ("project_dir", "queries")

    def __init__(self, project_dir: str) -> None:
        self.project_dir = project_dir
        self.queries: list[RecordedQuery] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.time()
        begin = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            duration = time.perf_counter() - begin
            self.queries.append(
                RecordedQuery(
                    sql=sql,
                    params=None if many else params,
                    started=started,
                    duration=duration,
                    stack=stack_summary(sys._getframe(1), self.project_dir),
                )
            )


@dataclass(slots=True)
class RecordedRequest:
    """One request as the recorder saw it; crm.silk_recorder.rows reads it."""

    path: str
    method: str
    # The HTTP_* and CONTENT_* entries of META, which is what request.headers
    # is built from.
    meta: dict[str, str]
    query_string: str
    # None when silk would not store the body (multipart, or over
    # SILKY_MAX_REQUEST_BODY_SIZE); the request's body is never read then.
    body: bytes | None
    multipart: bool
    started: float  # seconds since the epoch
    duration: float = 0.0  # seconds
    view_name: str | None = None
    status_code: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    # b"" when streamed or over SILKY_MAX_RESPONSE_BODY_SIZE.
    response_content: bytes = b""
    queries: list[RecordedQuery] = field(default_factory=list)
    # Time the recorder itself spent on the request's thread, in seconds.
    own_time: float = 0.0


def _header_meta(meta: dict) -> dict[str, str]:
    return {
        key: value
        for key, value in meta.items()
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
    }


def _content_length(meta: dict) -> int | None:
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


def request_taken(request, *, max_body: int) -> RecordedRequest:
    """Return the request's part of a recording, reading its body if silk keeps it.

    The body is read here, before the view, because once a parser has read
    the stream Django no longer gives it out (silk reads it at the same
    point). A body silk would throw away for its size is not read at all.
    """
    meta = request.META
    multipart = meta.get("CONTENT_TYPE", "").startswith("multipart/form-data")
    length = _content_length(meta)
    body = None
    if not multipart and length is not None and (max_body < 0 or length <= max_body):
        try:
            body = request.body if length else b""
        except RequestDataTooBig:
            body = None
    return RecordedRequest(
        path=request.path,
        method=request.method,
        meta=_header_meta(meta),
        query_string=meta.get("QUERY_STRING", ""),
        body=body,
        multipart=multipart,
        started=time.time(),
    )


def response_taken(
    recorded: RecordedRequest, request, response, *, max_body: int
) -> None:
    """Add the response's part to ``recorded``."""
    recorded.view_name = getattr(request.resolver_match, "view_name", None)
    recorded.status_code = response.status_code
    recorded.response_headers = list(response.items())
    if not response.streaming:
        content = response.content
        if max_body < 0 or len(content) <= max_body:
            recorded.response_content = content
