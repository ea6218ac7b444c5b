"""sync_lock: one run per user and provider, claimed by a conditional UPDATE."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from syncjobs.locks import SyncLocked, sync_lock, sync_lock_claim, sync_lock_release
from syncjobs.models import ProviderAccount, SyncLock, SyncRun
from syncjobs.providers.base import Provider
from syncjobs.records import ContactRecord, ParseResult
from syncjobs.services import sync_provider


class OnePersonProvider(Provider):
    platform = "google_contacts"

    def __init__(self):
        self.calls = 0

    def fetch(self, *, credentials, cursor, now):
        self.calls += 1
        return ParseResult(
            contacts=[
                ContactRecord(
                    source="google",
                    position="people/c1",
                    external_id="people/c1",
                    full_name="Ada Lovelace",
                )
            ],
            items_read=1,
        )


def test_a_free_lock_is_claimed_and_freed_again(alice):
    with sync_lock(owner=alice, platform="gmail") as holder:
        lock = SyncLock.objects.get(owner=alice, platform="gmail")
        assert lock.holder == holder
        assert lock.locked_until is not None

    lock.refresh_from_db()
    assert (lock.holder, lock.locked_until) == ("", None)


def test_a_held_lock_cannot_be_claimed_twice(alice):
    sync_lock_claim(owner=alice, platform="gmail")

    with pytest.raises(SyncLocked, match="another gmail run holds the lock"):
        sync_lock_claim(owner=alice, platform="gmail")


def test_the_claim_is_one_conditional_update_checked_by_its_rowcount(alice):
    SyncLock.objects.create(owner=alice, platform="gmail")

    with CaptureQueriesContext(connection) as queries:
        sync_lock_claim(owner=alice, platform="gmail")

    updates = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")
    ]
    assert len(updates) == 1
    assert (
        '"locked_until" IS NULL OR "syncjobs_synclock"."locked_until" <' in updates[0]
    )


def test_other_providers_and_other_users_have_their_own_locks(alice, bob):
    with (
        sync_lock(owner=alice, platform="gmail"),
        sync_lock(owner=alice, platform="twitter"),
        sync_lock(owner=bob, platform="gmail"),
    ):
        assert SyncLock.objects.exclude(holder="").count() == 3


def test_an_expired_lease_of_a_dead_worker_can_be_taken_over(alice):
    sync_lock_claim(owner=alice, platform="gmail")
    SyncLock.objects.update(locked_until=timezone.now() - dt.timedelta(seconds=1))

    with sync_lock(owner=alice, platform="gmail") as holder:
        assert SyncLock.objects.get().holder == holder


def test_a_run_whose_lease_was_taken_over_does_not_free_the_new_holder(alice):
    stale = sync_lock_claim(owner=alice, platform="gmail")
    SyncLock.objects.update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    current = sync_lock_claim(owner=alice, platform="gmail")

    sync_lock_release(owner=alice, platform="gmail", holder=stale)

    assert SyncLock.objects.get().holder == current


def test_a_second_run_while_one_is_running_records_a_skipped_run(alice):
    account = ProviderAccount.objects.create(
        owner=alice, kind="google", account_id="alice@example.com", access_token="t"
    )
    provider = OnePersonProvider()

    with sync_lock(owner=alice, platform="google_contacts"):
        skipped = sync_provider(
            account=account,
            platform="google_contacts",
            trigger="scheduled",
            provider=provider,
        )

    assert provider.calls == 0
    assert Contact.objects.count() == 0
    assert skipped.status == "skipped"
    assert skipped.details["reason"].startswith(
        "another google_contacts run holds the lock until "
    )
    assert SyncRun.objects.get(pk=skipped.pk).status == "skipped"

    # Once the first run ends, the next one goes ahead.
    done = sync_provider(
        account=account,
        platform="google_contacts",
        trigger="scheduled",
        provider=provider,
    )
    assert (done.status, done.records_created, provider.calls) == ("success", 1, 1)


# --- a lease left claimed ------------------------------------------------------------


@pytest.mark.django_db
def test_on_abandoned_names_the_holder_whose_lease_was_taken_over(alice):
    seen: list[str] = []

    sync_lock_claim(owner=alice, platform="gmail", on_abandoned=seen.append)
    sync_lock_release(
        owner=alice, platform="gmail", holder=SyncLock.objects.get().holder
    )
    sync_lock_claim(
        owner=alice, platform="gmail", holder="task-1", on_abandoned=seen.append
    )
    # The same task again (its first delivery died), then an expired lease.
    sync_lock_claim(
        owner=alice, platform="gmail", holder="task-1", on_abandoned=seen.append
    )
    SyncLock.objects.update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    sync_lock_claim(
        owner=alice, platform="gmail", holder="task-2", on_abandoned=seen.append
    )

    # A new lock and a released one were left by no one.
    assert seen == ["task-1", "task-1"]


@pytest.mark.django_db
def test_a_failing_on_abandoned_still_hands_out_the_lease(alice, caplog):
    sync_lock_claim(owner=alice, platform="gmail", holder="task-1")

    def broken(previous: str) -> None:
        raise RuntimeError("bookkeeping failed")

    holder = sync_lock_claim(
        owner=alice, platform="gmail", holder="task-1", on_abandoned=broken
    )

    assert holder == "task-1"
    assert SyncLock.objects.get().holder == "task-1"
    assert [r.getMessage() for r in caplog.records if r.name == "syncjobs.locks"] == [
        "handling an abandoned lease failed"
    ]
