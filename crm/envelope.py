"""The ``{data, error, meta}`` envelope the original's clients read.

Every JSON response is wrapped by ``EnvelopeJSONRenderer``; every error goes
through ``envelope_exception_handler``. Errors also carry the original's
``detail`` key, so a client written against the original still finds its
message there. Validation errors are 400 (the original used 422).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

ENVELOPE_KEYS = frozenset({"data", "error", "meta"})


def envelope(data, meta=None, *, status_code: int = status.HTTP_200_OK) -> Response:
    return Response({"data": data, "error": None, "meta": meta}, status=status_code)


def is_enveloped(payload) -> bool:
    return isinstance(payload, dict) and payload.keys() >= ENVELOPE_KEYS


class EnvelopeJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        if response is not None and response.status_code == 204:
            return b""
        if not is_enveloped(data):
            data = {"data": data, "error": None, "meta": None}
        return super().render(data, accepted_media_type, renderer_context)


def _error_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _error_message(detail[0])
    if isinstance(detail, dict) and detail:
        field, value = next(iter(detail.items()))
        inner = _error_message(value)
        return inner if field == "non_field_errors" else f"{field}: {inner}"
    return str(detail)


def envelope_exception_handler(exc, context):
    # Imported here: rest_framework.views reads DEFAULT_RENDERER_CLASSES,
    # which names this module, when it is first imported.
    from rest_framework.views import exception_handler

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None

    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    message = _error_message(detail)
    error = {
        "code": getattr(exc, "default_code", "error"),
        "message": message,
        "status": response.status_code,
    }
    if isinstance(detail, (dict, list)):
        error["fields"] = detail
    response.data = {"data": None, "error": error, "meta": None, "detail": message}
    return response


class EnvelopePagination(PageNumberPagination):
    """``page``/``page_size`` (max 100) with the original's ``meta`` block."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self._validate(request)
        return super().paginate_queryset(queryset, request, view)

    def _validate(self, request) -> None:
        errors = {}
        for name, low, high in (
            ("page", 1, None),
            ("page_size", 1, self.max_page_size),
        ):
            raw = request.query_params.get(name)
            if raw is None:
                continue
            try:
                value = int(raw)
            except ValueError:
                errors[name] = [f"must be a whole number, got {raw!r}"]
                continue
            if value < low or (high is not None and value > high):
                bound = f"between {low} and {high}" if high else f"at least {low}"
                errors[name] = [f"must be {bound}, got {value}"]
        if errors:
            raise exceptions.ValidationError(errors)

    def get_page_number(self, request, paginator):
        return request.query_params.get(self.page_query_param, 1)

    def paginate(self, queryset, request):
        """Return (rows, meta) for ``queryset``; pages past the end are empty."""
        return self.paginate_with(
            request,
            count=queryset.count,
            rows=lambda offset, size: list(queryset[offset : offset + size]),
        )

    def paginate_with(
        self,
        request,
        *,
        count: Callable[[], int],
        rows: Callable[[int, int], list],
    ) -> tuple[list, dict]:
        """Return (rows, meta) from ``count()`` and ``rows(offset, size)``.

        ``rows`` is not called for a page past the end, which is empty.
        """
        self._validate(request)
        page = int(request.query_params.get("page", 1))
        size = self.get_page_size(request)
        total = count()
        offset = (page - 1) * size
        meta = {
            "total": total,
            "page": page,
            "page_size": size,
            "total_pages": max(1, math.ceil(total / size)),
        }
        return (rows(offset, size) if offset < total else []), meta


class PageMetaSerializer(serializers.Serializer):
    """The list ``meta`` block, for the OpenAPI schema."""

    total = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    total_pages = serializers.IntegerField()


def enveloped_schema(name: str, data, meta=None):
    """Return an OpenAPI shape of ``{data, error, meta}`` around ``data``.

    ``data`` and ``meta`` are serializer or field instances (``many=True``
    for lists); for drf-spectacular's ``responses=`` only, never to
    validate.
    """
    from drf_spectacular.utils import inline_serializer

    def null_dict():
        return serializers.DictField(allow_null=True, default=None)

    return inline_serializer(
        name=name,
        fields={
            "data": data,
            "error": null_dict(),
            "meta": meta if meta is not None else null_dict(),
        },
    )
