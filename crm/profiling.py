"""Which requests silk records and who sees the debug toolbar."""

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
    return not request.path.startswith(_NEVER_RECORDED_PREFIXES)


def show_debug_toolbar(request) -> bool:
    user = getattr(request, "user", None)
    return bool(settings.DEBUG and user is not None and user.is_staff)


def _no_explanation(connection, query, params) -> str:
    return ""


def silk_skip_explain() -> None:
    """Stop silk from sending an EXPLAIN before every query it records.

    silk 5.6 has no setting for this and runs ``EXPLAIN <query>`` for every
    ORM query of a profiled request, doubling its database round trips;
    that alone broke the 25 % overhead budget. Query plans are in
    ``manage.py benchmark --explain`` instead. Remove when silk gets a switch.
    """
    import silk.sql

    silk.sql._explain_query = _no_explanation
