"""Record every request for silk, taking only copies on the request's thread."""

from __future__ import annotations

import logging
import os
import time

from django.conf import settings
from django.db import connections

from crm.profiling import silk_should_record
from crm.silk_recorder.capture import QueryCapture, request_taken, response_taken
from crm.silk_recorder.writer import recording_writer

logger = logging.getLogger(__name__)


def _should_record(request) -> bool:
    intercept = getattr(settings, "SILKY_INTERCEPT_FUNC", None) or silk_should_record
    if request.path_info in getattr(settings, "SILKY_IGNORE_PATHS", ()):
        return False
    return bool(intercept(request))


class SilkRecorderMiddleware:
    """Stand in for silk's SilkyMiddleware: same rows, a fraction of the cost.

    Place it after authentication (silk's pages check ``request.user``) and
    before crm.querycount's middleware, so that the statement count a
    response carries stays the view's own.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.project_dir = str(settings.BASE_DIR) + os.sep
        self.writer = recording_writer()

    def __call__(self, request):
        if not _should_record(request):
            return self.get_response(request)

        begun = time.perf_counter()
        try:
            recorded = request_taken(
                request, max_body=settings.SILKY_MAX_REQUEST_BODY_SIZE
            )
        except Exception:
            # A recording must never cost the client its response.
            logger.exception("silk recorder could not take the request")
            return self.get_response(request)
        capture = QueryCapture(self.project_dir)
        wrapped = connections.all()
        for connection in wrapped:
            connection.execute_wrappers.append(capture)
        own = time.perf_counter() - begun
        try:
            response = self.get_response(request)
        finally:
            for connection in wrapped:
                connection.execute_wrappers.remove(capture)

        ended = time.perf_counter()
        try:
            response_taken(
                recorded,
                request,
                response,
                max_body=settings.SILKY_MAX_RESPONSE_BODY_SIZE,
            )
        except Exception:
            logger.exception("silk recorder could not take the response")
            return response
        recorded.duration = ended - begun
        recorded.queries = capture.queries
        recorded.own_time = own + time.perf_counter() - ended
        self.writer.add(recorded)
        return response
