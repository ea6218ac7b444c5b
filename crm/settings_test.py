"""Test settings: eager Celery, a fast hasher, no silk or toolbar by default.

silk is switched off here because its own writes would count in every
query-count assertion; the silk tests switch it on for themselves.
"""

import os

os.environ.setdefault("SILK_ENABLED", "false")
os.environ.setdefault("DEBUG_TOOLBAR_ENABLED", "false")

from crm.settings import *  # noqa: E402,F403

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING["root"]["level"] = "ERROR"  # noqa: F405
