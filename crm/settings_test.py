"""Test settings: eager Celery, a fast hasher, silk installed but not recording.

silk's recorder is left out because its own writes would count in every
query-count assertion; the silk tests put it back for themselves, and it
writes each request as it ends, so the rows are in the test's transaction.
"""

import os

os.environ.setdefault("DEBUG_TOOLBAR_ENABLED", "false")

from crm.settings import *  # noqa: F403

SILK_MIDDLEWARE = "crm.silk_recorder.middleware.SilkRecorderMiddleware"
MIDDLEWARE = [m for m in MIDDLEWARE if m != SILK_MIDDLEWARE]  # noqa: F405
SILK_RECORDER_SYNCHRONOUS = True
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING["root"]["level"] = "ERROR"  # noqa: F405
# The cache is shared by every test in a process; the throttle tests set
# their own rates.
_SCOPES = REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # noqa: F405
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": dict.fromkeys(_SCOPES, "100000/min"),
}
if DATABASES["default"]["ENGINE"] == "crm.sqlite_backend":  # noqa: F405
    # In memory, one database per xdist worker (pytest-django only knows
    # Django's own engine name for this).
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}  # noqa: F405
