"""A sync or import that dies half-way leaves nothing behind, and says so.

Faults are injected at the database edge: an execute wrapper raises on a
chosen statement (the second INSERT of a batched write, the rescore's
UPDATE, the cursor write), with batches cut to 100 rows so that a run
writes several. The engine is all-or-nothing: every row of the run is
rolled back, the SyncRun says failed with nothing written, and a re-run
ends exactly where one clean run does. On PostgreSQL a contact deleted by
the user during the run makes the COMMIT itself fail; the SyncRun must not
then claim the rows it had counted. A run killed outright (its worker
SIGKILLed) leaves its sync lock claimed; the same task, delivered again,
must still be able to run (the real worker is in test_worker_killed.py).
"""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from contacts import services as contact_services
from contacts.models import Contact, ContactEmail, Interaction
from contacts.services import contact_create
from syncjobs import services
from syncjobs.locks import sync_lock_claim
from syncjobs.models import ProviderAccount, SyncLock, SyncRun
from syncjobs.services import import_file, sync_provider
from syncjobs.tasks import sync_google_contacts_for_user
from tests.reliability.concurrency import postgres_only
from tests.reliability.exports import owner_state, person_email, write_mbox
from tests.reliability.providers import NOW, CannedProvider, calendar_result

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = 150
BATCH = 100


class InjectedCrash(RuntimeError):
    pass


class CrashOn:
    """An execute wrapper that raises on the ``nth`` statement ``pattern`` matches."""

    def __init__(self, pattern: str, nth: int) -> None:
        self.pattern = re.compile(pattern)
        self.nth = nth
        self.seen = 0
        self.message = f"injected crash at {pattern} #{nth}"

    def __call__(self, execute, sql, params, many, context):
        if self.pattern.match(sql):
            self.seen += 1
            if self.seen == self.nth:
                raise InjectedCrash(self.message)
        return execute(sql, params, many, context)


CRASH_POINTS = {
    # After the first 100 contacts were inserted.
    "second contact batch": ('INSERT INTO "contacts_contact"', 2),
    # After every contact and the first 100 interactions (SQLite spells
    # ignore_conflicts "INSERT OR IGNORE").
    "second interaction batch": ('INSERT (OR IGNORE )?INTO "contacts_interaction"', 2),
    # After every contact and interaction: the rescore's write.
    "rescore": ('UPDATE "contacts_contact"', 1),
}
CURSOR_WRITE = ('UPDATE "syncjobs_provideraccount"', 1)


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(contact_services, "BULK_BATCH_SIZE", BATCH)


@pytest.fixture
def google(alice):
    return ProviderAccount.objects.create(
        owner=alice, kind="google", account_id="alice.work@example.com"
    )


def nothing_stored(owner) -> tuple[int, int, int]:
    return (
        Contact.objects.filter(owner=owner).count(),
        Interaction.objects.filter(owner=owner).count(),
        ContactEmail.objects.filter(owner=owner).count(),
    )


def clean_state(owner, run_once) -> dict:
    """Return the state one clean run leaves, from nothing, for ``owner``."""
    Contact.objects.filter(owner=owner).delete()
    run_once()
    return owner_state(owner)


def written(run: SyncRun) -> tuple:
    run.refresh_from_db()
    return (
        run.status,
        run.records_created,
        run.records_updated,
        run.records_skipped,
        run.contacts_rescored,
    )


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_an_import_that_crashes_half_way_writes_nothing_and_a_rerun_completes_it(
    alice, tmp_path, small_batches, point
):
    mbox = write_mbox(tmp_path / "mail.mbox", people=PEOPLE, per_person=2, newest=NOW)
    crash = CrashOn(*CRASH_POINTS[point])

    with connection.execute_wrapper(crash), pytest.raises(InjectedCrash):
        import_file(owner=alice, path=mbox, now=NOW)

    assert crash.seen == crash.nth
    assert nothing_stored(alice) == (0, 0, 0)
    failed = SyncRun.objects.get(owner=alice)
    assert written(failed) == ("failed", 0, 0, 0, 0)
    assert failed.error_message == f"InjectedCrash: {crash.message}"

    rerun = import_file(owner=alice, path=mbox, now=NOW)

    assert written(rerun.run) == ("success", 3 * PEOPLE, 0, 0, PEOPLE)
    assert nothing_stored(alice) == (PEOPLE, 2 * PEOPLE, PEOPLE)
    after_rerun = owner_state(alice)
    assert after_rerun == clean_state(
        alice, lambda: import_file(owner=alice, path=mbox, now=NOW)
    )


@pytest.mark.parametrize(
    "point",
    [*CRASH_POINTS, "cursor write"],
)
def test_a_provider_sync_that_crashes_half_way_writes_nothing_keeps_its_cursor_and_lock_free(
    alice, google, small_batches, point
):
    crash = CrashOn(*CRASH_POINTS.get(point, CURSOR_WRITE))
    provider = CannedProvider(calendar_result(range(PEOPLE)))

    def sync():
        return sync_provider(
            account=google,
            platform="google_calendar",
            trigger="manual",
            now=NOW,
            provider=provider,
        )

    with connection.execute_wrapper(crash), pytest.raises(InjectedCrash):
        sync()

    assert crash.seen == crash.nth
    assert nothing_stored(alice) == (0, 0, 0)
    (failed,) = SyncRun.objects.filter(owner=alice)
    assert written(failed) == ("failed", 0, 0, 0, 0)
    google.refresh_from_db()
    assert google.cursor in ({}, None)
    assert SyncLock.objects.get(owner=alice, platform="google_calendar").holder == ""

    rerun = sync()

    assert written(rerun) == ("success", 3 * PEOPLE, 0, 0, PEOPLE)
    google.refresh_from_db()
    assert google.cursor == {"google_calendar": {"sync_token": "cal-1"}}
    assert owner_state(alice) == clean_state(alice, sync)


@pytest.mark.postgres
@postgres_only
@pytest.mark.parametrize("kind", ["import", "provider sync"])
def test_a_run_whose_commit_fails_records_that_it_wrote_nothing(
    alice, google, tmp_path, monkeypatch, kind
):
    # The user deletes a contact while the run adds mail to it. Foreign keys
    # are checked at COMMIT (Django creates them DEFERRABLE INITIALLY
    # DEFERRED), so the run fails after every statement had succeeded.
    doomed = contact_create(
        owner=alice, full_name="Person 005", emails=[person_email(5)]
    )
    real_rescore = services.contacts_rescore_ids

    def delete_doomed_then_rescore(**kwargs):
        def delete():
            try:
                Contact.objects.filter(pk=doomed.pk).delete()
            finally:
                connection.close()

        deleter = threading.Thread(target=delete)
        deleter.start()
        deleter.join(timeout=30)
        assert not deleter.is_alive()
        return real_rescore(**kwargs)

    monkeypatch.setattr(services, "contacts_rescore_ids", delete_doomed_then_rescore)
    mbox = write_mbox(tmp_path / "mail.mbox", people=PEOPLE, per_person=2, newest=NOW)
    provider = CannedProvider(calendar_result(range(PEOPLE)))

    def run_once():
        if kind == "import":
            return import_file(owner=alice, path=mbox, now=NOW).run
        return sync_provider(
            account=google,
            platform="google_calendar",
            trigger="manual",
            now=NOW,
            provider=provider,
        )

    with pytest.raises(Exception) as crashed:
        run_once()

    assert type(crashed.value).__name__ == "IntegrityError"
    assert nothing_stored(alice) == (0, 0, 0)
    failed = SyncRun.objects.get(owner=alice)
    assert written(failed) == ("failed", 0, 0, 0, 0)
    assert failed.error_message.startswith("IntegrityError: insert or update on table")

    monkeypatch.setattr(services, "contacts_rescore_ids", real_rescore)
    rerun = run_once()

    assert written(rerun) == ("success", 3 * PEOPLE, 0, 0, PEOPLE)
    assert owner_state(alice) == clean_state(alice, run_once)


# --- a run killed outright ---------------------------------------------------


@pytest.fixture
def dead_runs_lock(alice, google, monkeypatch):
    """Leave the lock as a run of task "task-1" killed mid-fetch leaves it."""
    monkeypatch.setitem(
        services.PROVIDER_CLASSES,
        "google_contacts",
        "tests.reliability.providers.TenPeople",
    )
    sync_lock_claim(owner=alice, platform="google_contacts", holder="task-1")


def test_the_same_task_delivered_again_takes_over_the_lock_its_dead_run_left(
    alice, dead_runs_lock
):
    result = sync_google_contacts_for_user.apply(
        args=[str(alice.pk)], task_id="task-1"
    ).get()

    assert (result["succeeded"], result["skipped"], result["records_created"]) == (
        1,
        0,
        10,
    )
    assert Contact.objects.filter(owner=alice).count() == 10
    lock = SyncLock.objects.get(owner=alice, platform="google_contacts")
    assert (lock.holder, lock.locked_until) == ("", None)


def test_another_task_still_finds_the_dead_runs_lock_taken(alice, dead_runs_lock):
    result = sync_google_contacts_for_user.apply(
        args=[str(alice.pk)], task_id="task-2"
    ).get()

    assert (result["succeeded"], result["skipped"]) == (0, 1)
    assert Contact.objects.filter(owner=alice).count() == 0
    assert SyncLock.objects.get(owner=alice, platform="google_contacts").holder == (
        "task-1"
    )
