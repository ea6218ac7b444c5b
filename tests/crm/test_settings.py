"""The environment switches the database and Celery, as the README says."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], "
    "'name': str(settings.DATABASES['default']['NAME']), "
    "'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'broker': settings.CELERY_BROKER_URL, "
    "'debug': settings.DEBUG, 'hosts': settings.ALLOWED_HOSTS}))"
)


def _settings_with(**env) -> dict:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="crm.settings")
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_it_defaults_to_sqlite_eager_celery_and_localhost(tmp_path):
    probe = _settings_with(CRM_VAR_DIR=str(tmp_path))
    assert probe["engine"] == "crm.sqlite_backend"
    assert probe["name"] == str(tmp_path / "crm.sqlite3")
    assert probe["eager"] is True
    assert probe["debug"] is True
    assert probe["hosts"] == ["127.0.0.1", "localhost"]


def test_database_url_switches_to_postgresql_with_psycopg3(tmp_path):
    probe = _settings_with(
        CRM_VAR_DIR=str(tmp_path), DATABASE_URL="postgres://postgres@127.0.0.1:5432/crm"
    )
    assert probe["engine"] == "django.db.backends.postgresql"
    assert probe["name"] == "crm"


def test_a_broker_url_sends_tasks_to_real_workers(tmp_path):
    probe = _settings_with(
        CRM_VAR_DIR=str(tmp_path), CELERY_BROKER_URL="redis://127.0.0.1:6379/0"
    )
    assert probe["eager"] is False
    assert probe["broker"] == "redis://127.0.0.1:6379/0"


def test_the_running_suite_uses_the_database_it_was_given(settings):
    # The suite runs once on SQLite and once on PostgreSQL in CI.
    expected = (
        "postgresql"
        if os.environ.get("DATABASE_URL", "").startswith("postgres")
        else "sqlite_backend"
    )
    assert settings.DATABASES["default"]["ENGINE"].endswith(expected)
