"""A real Celery worker runs a task end to end; without a broker, tasks run eagerly.

The worker test needs a broker and a database both processes can see:

    CELERY_BROKER_URL=redis://127.0.0.1:6379/15 \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
    .venv/bin/pytest -m broker tests/syncjobs/test_celery_worker.py

It is skipped without CELERY_BROKER_URL, and on SQLite: pytest-django's
SQLite test database lives in this process's memory, where a worker
process cannot reach it. On PostgreSQL the test database is a real one, and
``transaction=True`` commits the rows so the worker sees them.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path
from urllib.parse import quote

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.db import connection

from contacts.models import Contact, Interaction
from contacts.services import contact_create
from crm.celery import app as celery_app
from syncjobs.models import SyncRun

REPO_ROOT = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
QUEUES = "gmail,google_contacts,google_calendar,twitter,scoring,default"
WAIT_SECONDS = 60


def _database_url() -> str:
    """Return a DATABASE_URL naming the test database this process uses."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{db['NAME']}"


def _worker_env(broker: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="crm.settings",
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=broker,
        SILK_ENABLED="false",
        DEBUG_TOOLBAR_ENABLED="false",
        # Short-lived connections: the test database is dropped at the end.
        CONN_MAX_AGE="0",
    )
    return env


def _purge(queues: str) -> None:
    # Messages left by an earlier, interrupted run would otherwise run first.
    with celery_app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in queues.split(","):
            channel.queue_purge(queue)


def _stop(worker: subprocess.Popen) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(timeout=10)


@pytest.mark.broker
@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get("CELERY_BROKER_URL"),
    reason="CELERY_BROKER_URL is not set: no real broker to start a worker against",
)
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_nightly_rescore_end_to_end(alice, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip(
            "the worker process cannot see pytest-django's in-memory SQLite test "
            "database: run with DATABASE_URL=postgres://..."
        )
    broker = os.environ["CELERY_BROKER_URL"]
    now = dt.datetime.now(dt.UTC)
    friend = contact_create(owner=alice, full_name="Old Balanced")
    for days, direction in [
        (55, "outbound"),
        (56, "outbound"),
        (57, "outbound"),
        (58, "inbound"),
        (59, "inbound"),
        (60, "inbound"),
    ]:
        Interaction.objects.create(
            owner=alice,
            contact=friend,
            platform="email",
            direction=direction,
            raw_reference_id=f"ref-{days}",
            occurred_at=now - dt.timedelta(days=days),
        )
    _purge(QUEUES)
    log_path = tmp_path / "worker.log"

    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                str(CELERY),
                "-A",
                "crm",
                "worker",
                "-Q",
                QUEUES,
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel=INFO",
                "-n",
                f"test-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=REPO_ROOT,
            env=_worker_env(broker),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            # send_task always goes to the broker, even with this process's
            # test settings set to eager; the route picks the scoring queue.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", AlwaysEagerIgnored)
                celery_app.send_task("syncjobs.tasks.rescore_all_users")
            deadline = time.monotonic() + WAIT_SECONDS
            done = SyncRun.objects.filter(owner=alice, platform="scoring")
            while not done.exclude(status="started").exists():
                assert worker.poll() is None, log_path.read_text()[-4000:]
                assert time.monotonic() < deadline, log_path.read_text()[-4000:]
                time.sleep(0.5)
        finally:
            _stop(worker)

    run = done.get()
    assert (run.status, run.sync_type, run.contacts_rescored) == (
        "success",
        "scheduled",
        1,
    )
    assert Contact.objects.get(pk=friend.pk).relationship_score == 5
    assert "syncjobs.tasks.rescore_all_users" in log_path.read_text()


def _celery_settings(env_changes: dict[str, str | None]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    env.update(DJANGO_SETTINGS_MODULE="crm.settings", SILK_ENABLED="false")
    code = (
        "import django; django.setup()\n"
        "from django.conf import settings\n"
        "from crm.celery import app\n"
        "print(settings.CELERY_TASK_ALWAYS_EAGER, app.conf.task_always_eager)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_without_a_broker_url_every_task_runs_in_process():
    assert _celery_settings({"CELERY_BROKER_URL": None}) == "True True"


def test_with_a_broker_url_tasks_go_to_the_broker():
    # Reading the settings connects to nothing.
    broker = {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/15"}

    assert _celery_settings(broker) == "False False"
