"""Every route under /api/v1/, read from the URL resolver, and who may call it.

The security tests parametrize over ``api_routes()``, so an endpoint added
to any urls.py is attacked without anyone remembering to list it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny

API_PREFIX = "api/v1/"
# The handlers a view can define; OPTIONS and HEAD are added by Django/DRF.
HANDLERS = ("get", "post", "put", "patch", "delete")
_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    """One URL pattern under /api/v1/ with its view and methods."""

    pattern: str
    name: str
    view_class: type = field(compare=False)
    initkwargs: dict = field(compare=False, hash=False)
    handlers: tuple[str, ...]
    parameters: tuple[str, ...]

    def __str__(self) -> str:
        return "/" + self.pattern

    def url(self, **values: object) -> str:
        """Return the path with each ``<converter:name>`` replaced by a value."""

        def fill(match: re.Match) -> str:
            return str(values[match.group("name")])

        return "/" + _PARAMETER.sub(fill, self.pattern)

    @property
    def methods(self) -> tuple[str, ...]:
        """Return the handlers plus HEAD (when GET exists) and OPTIONS."""
        extra = ("head",) if "get" in self.handlers else ()
        return (*self.handlers, *extra, "options")

    def is_public(self, method: str) -> bool:
        """Tell whether ``method`` needs no sign-in, from the view's own permissions.

        The view is asked the way DRF asks it during a request, so a view
        that opens one method only (the pairing poll) answers per method.
        """
        view = self.view_class(**self.initkwargs)
        view.request = RequestFactory().generic(method.upper(), str(self))
        view.args, view.kwargs = (), {}
        permissions = view.get_permissions()
        return all(isinstance(permission, AllowAny) for permission in permissions)


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def api_routes() -> list[Route]:
    """Return every DRF route under /api/v1/, in resolver order."""
    routes = []
    for pattern, entry in _walk(get_resolver().url_patterns):
        if not pattern.startswith(API_PREFIX):
            continue
        view_class = getattr(entry.callback, "view_class", None)
        if view_class is None:
            raise AssertionError(f"/{pattern} is not a class-based view")
        routes.append(
            Route(
                pattern=pattern,
                name=entry.name or pattern,
                view_class=view_class,
                initkwargs=dict(getattr(entry.callback, "initkwargs", {})),
                handlers=tuple(h for h in HANDLERS if hasattr(view_class, h)),
                parameters=tuple(m.group("name") for m in _PARAMETER.finditer(pattern)),
            )
        )
    return routes


def route_methods(*, public: bool | None = None) -> list[tuple[Route, str]]:
    """Return every (route, method) pair, optionally only public or only private."""
    pairs = [(route, method) for route in api_routes() for method in route.methods]
    if public is None:
        return pairs
    return [(r, m) for r, m in pairs if r.is_public(m) == public]
