"""Settings, all read from the environment with defaults that run a fresh clone.

With nothing set: SQLite under ``var/``, Celery tasks run in-process
(eager), DEBUG on, serving on 127.0.0.1 only. ``DATABASE_URL`` switches to
PostgreSQL, ``CELERY_BROKER_URL`` to a real broker with workers and beat.
Sections: core, database, apps, REST API, Celery, profiling, logging.
"""

from pathlib import Path

import environ

from crm.profiling import silk_should_record

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("CRM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

# --- core -----------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=True)
_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else None)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
INTERNAL_IPS = ["127.0.0.1"]

# Keys that encrypt OAuth tokens at rest (Fernet, url-safe base64, 32 bytes).
# The first key encrypts; every key decrypts, so a new key goes first and
# the old ones stay listed until `manage.py rotate_token_keys` has run.
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- database -------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'crm.sqlite3'}")
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend with the real variable limit (see the module).
    DATABASES["default"]["ENGINE"] = "crm.sqlite_backend"
    # WAL lets the server read while a sync writes; the timeout makes a
    # second writer wait for the lock instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- apps -----------------------------------------------------------------

SILK_ENABLED = env.bool("SILK_ENABLED", default=True)
DEBUG_TOOLBAR_ENABLED = env.bool("DEBUG_TOOLBAR_ENABLED", default=DEBUG)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "django_celery_beat",
    "crm",
    "contacts",
    "syncjobs",
    "linkedin",
]
if SILK_ENABLED:
    INSTALLED_APPS.append("silk")
if DEBUG_TOOLBAR_ENABLED:
    INSTALLED_APPS.append("debug_toolbar")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if SILK_ENABLED:
    # After authentication so silk can tell staff from everyone else.
    MIDDLEWARE.append("crm.silk_recorder.middleware.SilkRecorderMiddleware")
if DEBUG_TOOLBAR_ENABLED:
    MIDDLEWARE.append("debug_toolbar.middleware.DebugToolbarMiddleware")
# Innermost, so the count covers the view's queries and not silk's own.
MIDDLEWARE.append("crm.querycount.QueryCountHeaderMiddleware")

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
AUTH_USER_MODEL = "contacts.User"
LOGIN_URL = "/admin/login/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"

# OAuth state and throttles live here: with several processes, set
# CACHE_URL to a shared cache (redis://...), or callbacks will not find
# the state another process issued.
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://crm"),
}

# Uploaded export files larger than this are refused with a 400.
IMPORT_MAX_UPLOAD_BYTES = env.int("IMPORT_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int(
    "DATA_UPLOAD_MAX_MEMORY_SIZE", default=60 * 1024 * 1024
)

# --- REST API -------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer JWTs of the web app (and of the extension, on views that
        # opt in); Token for scripts, Session for the browsable API.
        "contacts.authentication.WebJWTAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "crm.envelope.EnvelopeJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "crm.envelope.envelope_exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "crm.parsers.NestingSafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "push": env.str("THROTTLE_PUSH", default="120/min"),
        "sync_trigger": env.str("THROTTLE_SYNC_TRIGGER", default="30/min"),
        "sign_in": env.str("THROTTLE_SIGN_IN", default="20/min"),
        "extension_pair_poll": env.str("THROTTLE_PAIR_POLL", default="60/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Personal CRM API",
    "DESCRIPTION": "Contacts, relationship scores, birthdays, follow-ups and syncs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Celery ---------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker every task runs in-process, so a fresh clone needs
# nothing but Python.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With Redis, a task whose worker died unacknowledged comes back only after
# visibility_timeout (kombu's default, an hour, is kept unless set). It must
# stay above the longest task: a running task older than it is handed out
# again. JSON, e.g. {"visibility_timeout": 3600}.
CELERY_BROKER_TRANSPORT_OPTIONS = env.json(
    "CELERY_BROKER_TRANSPORT_OPTIONS", default={}
)
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# One queue per provider: run more workers with `-Q gmail` on more machines
# to scale one provider out. Anything unrouted goes to "default".
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "syncjobs.tasks.sync_gmail_*": {"queue": "gmail"},
    "syncjobs.tasks.sync_google_contacts_*": {"queue": "google_contacts"},
    "syncjobs.tasks.sync_google_calendar_*": {"queue": "google_calendar"},
    "syncjobs.tasks.sync_twitter_*": {"queue": "twitter"},
    "syncjobs.tasks.rescore_*": {"queue": "scoring"},
}

# --- provider credentials (each integration is on only when set) ---------

GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="")
GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="")
GOOGLE_REDIRECT_URI = env.str("GOOGLE_REDIRECT_URI", default="")
TWITTER_CLIENT_ID = env.str("TWITTER_CLIENT_ID", default="")
TWITTER_CLIENT_SECRET = env.str("TWITTER_CLIENT_SECRET", default="")
TWITTER_REDIRECT_URI = env.str("TWITTER_REDIRECT_URI", default="")

# --- profiling ------------------------------------------------------------

# silk records every request, as in production, but only staff may look,
# and nothing that carries a secret is stored.
SILKY_AUTHENTICATION = True
SILKY_AUTHORISATION = True
SILKY_PERMISSIONS = lambda user: user.is_staff  # noqa: E731
SILKY_MAX_RECORDED_REQUESTS = env.int("SILKY_MAX_RECORDED_REQUESTS", default=10_000)
SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT = 10
SILKY_MAX_REQUEST_BODY_SIZE = 16 * 1024
SILKY_MAX_RESPONSE_BODY_SIZE = 64 * 1024
SILKY_SENSITIVE_KEYS = {
    "username",
    "api",
    "token",
    "key",
    "secret",
    "password",
    "signature",
    "authorization",
    "cookie",
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "state",
    "avatar_data",
    "session",
    "csrftoken",
    "sessionid",
    "x-csrftoken",
}
SILKY_META = True
SILKY_PYTHON_PROFILER = False
SILKY_INTERCEPT_FUNC = silk_should_record
SILKY_HIDE_COOKIES = True
# silk's pages and models, our recorder (crm/silk_recorder): a background
# thread writes the recorded requests in batches of this many, or when the
# oldest has waited this long; a full buffer stops recording (counted).
# silk checks this name before its own profiling helpers run; ours records.
SILKY_MIDDLEWARE_CLASS = "crm.silk_recorder.middleware.SilkRecorderMiddleware"
SILK_RECORDER_BATCH_SIZE = env.int("SILK_RECORDER_BATCH_SIZE", default=50)
SILK_RECORDER_FLUSH_SECONDS = env.float("SILK_RECORDER_FLUSH_SECONDS", default=2.0)
SILK_RECORDER_MAX_PENDING = env.int("SILK_RECORDER_MAX_PENDING", default=200)
SILK_RECORDER_SYNCHRONOUS = env.bool("SILK_RECORDER_SYNCHRONOUS", default=False)

DEBUG_TOOLBAR_CONFIG = {"SHOW_TOOLBAR_CALLBACK": "crm.profiling.show_debug_toolbar"}

# --- logging --------------------------------------------------------------

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "crm.logformat.KeyValueFormatter"},
        "json": {"()": "crm.logformat.JSONFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    "loggers": {
        "contacts": {"level": env.str("APP_LOG_LEVEL", default="INFO")},
        "syncjobs": {"level": env.str("APP_LOG_LEVEL", default="INFO")},
        "linkedin": {"level": env.str("APP_LOG_LEVEL", default="INFO")},
    },
}
