"""Which requests silk records and who sees the debug toolbar.

The recording itself is crm.silk_recorder's.
"""

from django.conf import settings

# Paths whose requests or responses carry credentials (sign-in, OAuth
# callbacks with their code and state, extension pairing that hands out a
# token), and silk's and the toolbar's own pages.
_NEVER_RECORDED_PREFIXES = (
    "/silk/",
    "/static/",
    "/__debug__/",
    "/admin/login/",
    "/api/v1/auth/",
    "/api/v1/extension/",
)


def silk_should_record(request) -> bool:
    # path_info, not path: served under a prefix (SCRIPT_NAME), path starts
    # with it and no exclusion would match.
    return not request.path_info.startswith(_NEVER_RECORDED_PREFIXES)


def show_debug_toolbar(request) -> bool:
    user = getattr(request, "user", None)
    return bool(settings.DEBUG and user is not None and user.is_staff)
