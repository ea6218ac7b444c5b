"""A Celery worker killed in the middle of a sync: the task comes back and ends right.

Needs a real broker and a database both processes see:

    CELERY_BROKER_URL=redis://127.0.0.1:6379/14 \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reliab \\
    .venv/bin/pytest tests/reliability/test_worker_killed.py

The worker is ``tests.reliability.slow_worker``: the product's worker with
a Google Contacts provider that stalls on its first fetch, having claimed
the sync lock. The test then SIGKILLs it, so nothing is acknowledged and
nothing is cleaned up:

- the whole worker (solo pool): Redis hands the unacknowledged message
  out again once ``visibility_timeout`` has passed, here a few seconds
  (``CELERY_BROKER_TRANSPORT_OPTIONS``), to a new worker;
- only the pool process (prefork): the parent sees the child lost and,
  with ``task_reject_on_worker_lost``, requeues the message at once.

Either way the task must run again to the end, on a lock that the dead
run left claimed for an hour, and store each person once. Each worker
listens on a queue of its own, so other workers on the same broker (the
other worker test) never take these messages.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest
from celery.exceptions import AlwaysEagerIgnored
from kombu import Exchange, Queue

from contacts.models import Contact
from crm.celery import app as celery_app
from syncjobs.models import ProviderAccount, SyncLock, SyncRun
from tests.reliability.concurrency import postgres_only
from tests.reliability.exports import duplicate_people
from tests.reliability.slow_worker import MARKER_ENV, PEOPLE, SECONDS_ENV
from tests.syncjobs.test_celery_worker import REPO_ROOT, _database_url

VISIBILITY_SECONDS = 3
TEST_SECONDS = 80
TASK = "syncjobs.tasks.sync_google_contacts_for_user"

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("CELERY_BROKER_URL"),
        reason="CELERY_BROKER_URL is not set: no real broker to start a worker against",
    ),
    postgres_only,
    pytest.mark.django_db(transaction=True),
]


def transport_options(queue: str) -> dict:
    """Return the Redis transport options of this test's workers."""
    return {
        "visibility_timeout": VISIBILITY_SECONDS,
        # Look for abandoned messages every second (kombu's default is about
        # every 100 s), so a new worker picks the message up soon after.
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        # Keep the unacknowledged messages apart from other workers on the
        # same broker: with a 3 s visibility timeout these workers would
        # otherwise hand out again any of theirs running longer than that.
        "unacked_key": f"{queue}-unacked",
        "unacked_index_key": f"{queue}-unacked-index",
        "unacked_mutex_key": f"{queue}-unacked-mutex",
    }


class Workers:
    """Worker subprocesses of one test, all killed at the end whatever happens."""

    def __init__(self, tmp_path: Path, queue: str) -> None:
        self.tmp_path = tmp_path
        self.queue = queue
        self.marker = tmp_path / "first-fetch.pid"
        self.started: list[tuple[subprocess.Popen, Path]] = []
        self.deadline = time.monotonic() + TEST_SECONDS

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="crm.settings",
            DATABASE_URL=_database_url(),
            SILK_ENABLED="false",
            DEBUG_TOOLBAR_ENABLED="false",
            CONN_MAX_AGE="0",
            CELERY_BROKER_TRANSPORT_OPTIONS=json.dumps(transport_options(self.queue)),
            **{MARKER_ENV: str(self.marker), SECONDS_ENV: str(TEST_SECONDS)},
        )
        return env

    def start(self, *, pool: str) -> subprocess.Popen:
        log_path = self.tmp_path / f"worker-{len(self.started)}.log"
        with log_path.open("w") as log:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.reliability.slow_worker",
                    "-Q",
                    self.queue,
                    f"--pool={pool}",
                    "--concurrency=1",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                    "-n",
                    f"reliability-{uuid.uuid4().hex[:8]}@%h",
                ],
                cwd=REPO_ROOT,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append((worker, log_path))
        return worker

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()[-3000:]}" for _, path in self.started
        )

    def wait_until(self, condition, what: str) -> None:
        while not condition():
            assert time.monotonic() < self.deadline, f"{what}\n{self.logs()}"
            time.sleep(0.2)

    def kill_all(self) -> None:
        for worker, _ in self.started:
            if worker.poll() is None:
                # The worker leads its own session: this reaches its pool too.
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)


@pytest.fixture
def workers(tmp_path):
    queue = f"reliability-{uuid.uuid4().hex[:8]}"
    started = Workers(tmp_path, queue)
    try:
        yield started
    finally:
        started.kill_all()
        # Deleting the queue, as the workers declared it, also drops its
        # bindings, which would otherwise pile up in the broker.
        with celery_app.connection_for_write() as conn:
            declared = Queue(queue, Exchange(queue), routing_key=queue)
            bound = declared(conn.default_channel)
            bound.declare()
            bound.delete()


@pytest.fixture
def google(alice):
    return ProviderAccount.objects.create(
        owner=alice, kind="google", account_id="alice.work@example.com"
    )


def queue_sync(user, queue: str) -> str:
    # send_task always goes to the broker, even with this process's test
    # settings set to eager.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        sent = celery_app.send_task(
            TASK, args=[str(user.pk)], kwargs={"trigger": "manual"}, queue=queue
        )
    return sent.id


def first_fetch_pid(workers: Workers) -> int:
    workers.wait_until(
        lambda: workers.marker.exists() and workers.marker.read_text(),
        "the task never reached its first fetch",
    )
    return int(workers.marker.read_text())


def assert_the_redelivered_run_did_the_work(alice, google, task_id: str) -> None:
    runs = SyncRun.objects.filter(owner=alice, platform="google_contacts")
    # The killed run's record is ended by the run that took over its lease.
    assert sorted(runs.values_list("status", "records_created")) == [
        ("failed", 0),
        ("success", PEOPLE),
    ]
    killed, rerun = runs.get(status="failed"), runs.get(status="success")
    assert killed.details == {
        "interrupted": True,
        "reason": (
            f"the worker stopped before the run ended; run {rerun.pk} found the "
            f"lock lease of {task_id} left claimed"
        ),
    }
    assert duplicate_people(alice) == {}
    assert Contact.objects.filter(owner=alice).count() == PEOPLE
    assert SyncLock.objects.get(owner=alice, platform="google_contacts").holder == ""
    google.refresh_from_db()
    assert google.cursor == {"google_contacts": {"sync_token": "slow-1"}}


def finished(alice):
    # Two runs, neither still started: the killed run is ended as soon as
    # the redelivered one takes its lease over, before that one is done.
    runs = SyncRun.objects.filter(owner=alice, platform="google_contacts")
    return lambda: runs.count() == 2 and not runs.filter(status="started").exists()


def test_a_task_whose_whole_worker_is_killed_is_redelivered_and_completes(
    alice, google, workers
):
    first = workers.start(pool="solo")
    task_id = queue_sync(alice, workers.queue)
    assert first_fetch_pid(workers) == first.pid
    lock = SyncLock.objects.get(owner=alice, platform="google_contacts")
    assert lock.holder != ""

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    workers.start(pool="solo")
    workers.wait_until(finished(alice), "the task was never run again")

    assert_the_redelivered_run_did_the_work(alice, google, task_id)


def test_a_task_whose_pool_process_is_killed_is_requeued_at_once_and_completes(
    alice, google, workers
):
    parent = workers.start(pool="prefork")
    task_id = queue_sync(alice, workers.queue)
    child = first_fetch_pid(workers)
    assert child != parent.pid

    os.kill(child, signal.SIGKILL)
    workers.wait_until(finished(alice), "the task was never run again")

    assert parent.poll() is None
    assert_the_redelivered_run_did_the_work(alice, google, task_id)
    assert "WorkerLostError" in workers.logs()
