"""Which requests silk records and who sees the debug toolbar."""

from django.conf import settings

# Paths whose bodies carry credentials or are silk's own pages.
_NEVER_RECORDED_PREFIXES = ("/silk/", "/static/", "/__debug__/", "/api/v1/auth/")


def silk_should_record(request) -> bool:
    return not request.path.startswith(_NEVER_RECORDED_PREFIXES)


def show_debug_toolbar(request) -> bool:
    user = getattr(request, "user", None)
    return bool(settings.DEBUG and user is not None and user.is_staff)
