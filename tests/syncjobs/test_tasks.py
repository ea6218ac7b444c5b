"""The Celery tasks, run eagerly, through the real sync service and a fake provider.

The fake provider stands where the provider's client library would: it is
swapped into ``syncjobs.services.PROVIDER_CLASSES`` and replays a script of
outcomes (a page of records, or an error to raise).
"""

from __future__ import annotations

import datetime as dt

import pytest
from celery.signals import task_retry

from contacts.models import Contact, Interaction, Notification
from contacts.services import contact_create
from crm.celery import app as celery_app
from syncjobs import services, tasks
from syncjobs.locks import sync_lock_claim
from syncjobs.models import ProviderAccount, SyncRun
from syncjobs.providers.base import Provider, ProviderError, RateLimited, TokenRevoked
from syncjobs.records import InteractionRecord, ParseResult, Participant

FAKE = f"{__name__}.FakeProvider"


class FakeProvider(Provider):
    """Pop the next outcome of ``script`` on each fetch: an error or a page."""

    script: list = []
    calls: list = []

    def fetch(self, *, credentials, cursor, now, **_):
        FakeProvider.calls.append(credentials.account_id)
        outcome = FakeProvider.script.pop(0) if FakeProvider.script else None
        if isinstance(outcome, Exception):
            raise outcome
        message = InteractionRecord(
            platform="email",
            direction="inbound",
            occurred_at=now - dt.timedelta(days=1),
            reference_id=f"fake:{credentials.account_id}:1",
            position="message #1",
            participants=(Participant(email="pat@example.com"),),
        )
        return ParseResult(interactions=[message], items_read=1, cursor={"seen": "1"})


@pytest.fixture
def fake(monkeypatch):
    for platform in list(services.PROVIDER_CLASSES):
        monkeypatch.setitem(services.PROVIDER_CLASSES, platform, FAKE)
    monkeypatch.setattr(FakeProvider, "script", [])
    monkeypatch.setattr(FakeProvider, "calls", [])
    return FakeProvider


@pytest.fixture
def retries():
    """Let eager tasks retry in-process, and collect every retry's countdown.

    With ``task_eager_propagates`` Celery hands the Retry to the caller
    instead of running the retry; without it, ``apply`` runs the retries
    one after the other (ignoring the countdown) as a worker would.
    """
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    seen = []

    def collect(sender=None, reason=None, **_):
        seen.append(reason.when)

    task_retry.connect(collect, weak=False)
    yield seen
    task_retry.disconnect(collect)
    celery_app.conf.task_eager_propagates = propagates


def account(owner, account_id, *, kind=ProviderAccount.KIND_GOOGLE, **fields):
    return ProviderAccount.objects.create(
        owner=owner,
        kind=kind,
        account_id=account_id,
        refresh_token="1//refresh",
        **fields,
    )


@pytest.fixture
def pat(alice):
    return contact_create(owner=alice, full_name="Pat", emails=["pat@example.com"])


def test_a_gmail_task_syncs_every_connected_google_account_of_the_user(
    fake, alice, pat
):
    work = account(alice, "alice@work.example")
    home = account(alice, "alice@home.example")
    account(alice, "alice@old.example", status=ProviderAccount.STATUS_REAUTH)
    account(alice, "4242", kind=ProviderAccount.KIND_TWITTER)

    result = tasks.sync_gmail_for_user.delay(str(alice.pk)).get()

    assert fake.calls == ["alice@work.example", "alice@home.example"]
    runs = SyncRun.objects.filter(owner=alice).order_by("started_at")
    assert [(r.platform, r.sync_type, r.status, r.account_id) for r in runs] == [
        ("gmail", "scheduled", "success", work.pk),
        ("gmail", "scheduled", "success", home.pk),
    ]
    assert result == {
        "status": "ok",
        "platform": "gmail",
        "accounts": 2,
        "succeeded": 2,
        "failed": 0,
        "skipped": 0,
        "records_created": 2,
        "records_updated": 0,
        "run_ids": [str(r.pk) for r in runs],
    }
    assert sorted(Interaction.objects.values_list("raw_reference_id", flat=True)) == [
        f"fake:alice@home.example:1:{pat.pk}",
        f"fake:alice@work.example:1:{pat.pk}",
    ]


def test_running_a_sync_task_twice_adds_no_interaction(fake, alice, pat):
    account(alice, "alice@work.example")

    tasks.sync_gmail_for_user.delay(str(alice.pk)).get()
    second = tasks.sync_gmail_for_user.delay(str(alice.pk)).get()

    assert Interaction.objects.filter(contact=pat).count() == 1
    assert second["records_created"] == 0


@pytest.mark.parametrize(
    ("task", "kind", "platform"),
    [
        (tasks.sync_google_contacts_for_user, "google", "google_contacts"),
        (tasks.sync_google_calendar_for_user, "google", "google_calendar"),
        (tasks.sync_twitter_for_user, "twitter", "twitter"),
    ],
)
def test_each_provider_task_syncs_its_own_kind_of_account(
    fake, alice, pat, task, kind, platform
):
    account(alice, "alice@work.example")
    account(alice, "4242", kind=ProviderAccount.KIND_TWITTER)

    result = task.delay(str(alice.pk)).get()

    expected = "4242" if kind == "twitter" else "alice@work.example"
    assert fake.calls == [expected]
    assert (result["platform"], result["succeeded"]) == (platform, 1)
    assert list(SyncRun.objects.values_list("platform", flat=True)) == [platform]


@pytest.mark.parametrize("user_id", ["not-a-uuid", "", None, 42])
def test_a_user_id_that_is_no_uuid_is_refused_without_a_retry(fake, user_id):
    result = tasks.sync_gmail_for_user.delay(user_id).get()

    assert result == {"status": "invalid_user_id"}
    assert fake.calls == []


def test_an_unknown_user_is_reported(fake, db):
    result = tasks.sync_gmail_for_user.delay(
        "8c6f1e47-5d0c-4b1c-9d7e-2f3a4b5c6d7e"
    ).get()

    assert result == {"status": "user_not_found"}


def test_a_user_without_a_connected_account_has_nothing_to_sync(fake, alice):
    account(alice, "alice@old.example", status=ProviderAccount.STATUS_REAUTH)

    result = tasks.sync_gmail_for_user.delay(str(alice.pk)).get()

    assert result == {"status": "no_account", "platform": "gmail"}
    assert SyncRun.objects.count() == 0


def test_a_transient_error_is_retried_with_backoff_until_it_passes(
    fake, alice, pat, retries
):
    account(alice, "alice@work.example")
    fake.script = [
        ProviderError("503 backend error"),
        ProviderError("503 backend error"),
    ]

    result = tasks.sync_gmail_for_user.delay(str(alice.pk)).get()

    assert fake.calls == ["alice@work.example"] * 3
    assert len(retries) == 2
    # Full jitter over 60 s then 120 s.
    assert 0 <= retries[0] <= 60 and 0 <= retries[1] <= 120
    assert result["succeeded"] == 1
    statuses = list(
        SyncRun.objects.order_by("started_at").values_list("status", flat=True)
    )
    assert statuses == ["partial", "partial", "success"]


def test_a_retry_waits_at_least_as_long_as_the_provider_asked(
    fake, alice, pat, retries
):
    account(alice, "alice@work.example")
    fake.script = [RateLimited("429 slow down", retry_after=900)]

    tasks.sync_gmail_for_user.delay(str(alice.pk)).get()

    assert retries == [900]


def test_only_the_account_that_failed_is_retried(fake, alice, pat, retries):
    account(alice, "alice@work.example")
    account(alice, "alice@home.example")
    fake.script = [None, ProviderError("503 backend error")]

    result = tasks.sync_gmail_for_user.delay(str(alice.pk)).get()

    assert fake.calls == [
        "alice@work.example",
        "alice@home.example",
        "alice@home.example",
    ]
    assert (result["accounts"], result["succeeded"]) == (1, 1)


def test_when_every_retry_fails_the_task_fails_and_the_user_is_told_once(
    fake, alice, pat, retries
):
    account(alice, "alice@work.example")
    fake.script = [ProviderError("503 backend error")] * 8

    with pytest.raises(ProviderError, match="503 backend error"):
        tasks.sync_gmail_for_user.delay(str(alice.pk)).get()
    with pytest.raises(ProviderError):
        tasks.sync_gmail_for_user.delay(str(alice.pk)).get()

    assert len(fake.calls) == 8  # 1 try + 3 retries, twice
    assert len(retries) == 6
    notes = list(
        Notification.objects.values("notification_type", "title", "body", "link")
    )
    assert notes == [
        {
            "notification_type": "sync",
            "title": "Gmail sync failed",
            "body": "Sync failed after multiple retries: 503 backend error",
            "link": "/settings",
        }
    ]


def test_a_revoked_grant_is_not_retried(fake, alice, pat, retries):
    work = account(alice, "alice@work.example")
    fake.script = [TokenRevoked("invalid_grant")]

    result = tasks.sync_google_contacts_for_user.delay(str(alice.pk)).get()

    assert fake.calls == ["alice@work.example"]
    assert retries == []
    assert (result["failed"], result["succeeded"]) == (1, 0)
    work.refresh_from_db()
    assert work.status == ProviderAccount.STATUS_REAUTH
    assert not Notification.objects.filter(
        title__contains="after multiple retries"
    ).exists()


def test_a_locked_provider_records_a_skipped_run_and_is_not_retried(
    fake, alice, pat, retries
):
    account(alice, "alice@work.example")
    sync_lock_claim(owner=alice, platform="gmail")

    result = tasks.sync_gmail_for_user.delay(str(alice.pk)).get()

    assert fake.calls == []
    assert retries == []
    assert result["skipped"] == 1
    assert list(SyncRun.objects.values_list("status", flat=True)) == ["skipped"]


def test_the_gmail_fan_out_queues_one_task_per_user_after_commit(
    fake, alice, bob, pat, django_user_model, django_capture_on_commit_callbacks
):
    account(alice, "alice@work.example")
    account(alice, "alice@home.example")
    account(bob, "bob@example.com")
    bob.sync_settings = {**bob.sync_settings, "gmail": {"auto_sync": False}}
    bob.save()
    carol = django_user_model.objects.create_user(email="carol@example.com")
    account(carol, "carol@example.com", status=ProviderAccount.STATUS_REAUTH)
    dave = django_user_model.objects.create_user(email="dave@example.com")
    account(dave, "99", kind=ProviderAccount.KIND_TWITTER)

    with django_capture_on_commit_callbacks(execute=False) as pending:
        result = tasks.sync_gmail_all.delay().get()
    assert result == {"queued": 1}
    assert (len(pending), fake.calls) == (1, [])

    pending[0]()
    assert fake.calls == ["alice@work.example", "alice@home.example"]


def test_the_x_fan_out_queues_users_with_a_connected_x_account(
    fake, alice, bob, pat, django_capture_on_commit_callbacks
):
    account(alice, "4242", kind=ProviderAccount.KIND_TWITTER)
    account(bob, "bob@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.sync_twitter_all.delay().get()

    assert result == {"queued": 1}
    assert fake.calls == ["4242"]
    assert list(SyncRun.objects.values_list("owner__email", "platform")) == [
        ("alice@example.com", "twitter")
    ]


@pytest.mark.parametrize(
    ("task", "calls"),
    [(tasks.sync_google_contacts_all, 1), (tasks.sync_google_calendar_all, 1)],
)
def test_the_google_fan_outs_return_how_many_they_queued(
    fake, alice, pat, task, calls, django_capture_on_commit_callbacks
):
    account(alice, "alice@work.example")

    with django_capture_on_commit_callbacks(execute=True):
        assert task.delay().get() == {"queued": 1}

    assert len(fake.calls) == calls


def test_rescore_all_users_records_one_scoring_run_per_user(alice, bob):
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

    result = tasks.rescore_all_users.delay().get()

    assert result == {"status": "ok", "runs": 2, "contacts_rescored": 1}
    assert Contact.objects.get(pk=friend.pk).relationship_score == 5
    assert sorted(
        SyncRun.objects.values_list("owner__email", "platform", "status")
    ) == [
        ("alice@example.com", "scoring", "success"),
        ("bob@example.com", "scoring", "success"),
    ]


def test_a_manual_run_of_one_account_syncs_all_its_providers_and_only_it(
    fake, alice, pat, django_capture_on_commit_callbacks
):
    work = account(alice, "alice@work.example")
    account(alice, "alice@home.example")

    with django_capture_on_commit_callbacks(execute=True):
        names = tasks.account_sync_queue(account=work)

    assert names == [
        "syncjobs.tasks.sync_gmail_for_user",
        "syncjobs.tasks.sync_google_contacts_for_user",
        "syncjobs.tasks.sync_google_calendar_for_user",
    ]
    assert fake.calls == ["alice@work.example"] * 3
    assert sorted(SyncRun.objects.values_list("platform", "sync_type")) == [
        ("gmail", "manual"),
        ("google_calendar", "manual"),
        ("google_contacts", "manual"),
    ]


@pytest.mark.parametrize(
    ("retries_so_far", "expected"),
    [(0, 60), (1, 120), (2, 240), (3, 480), (4, 600), (9, 600)],
)
def test_the_backoff_doubles_from_a_minute_up_to_ten_minutes(retries_so_far, expected):
    assert tasks.retry_countdown(retries=retries_so_far, jitter=False) == expected


def test_the_backoff_never_undercuts_the_providers_retry_after():
    assert tasks.retry_countdown(retries=0, retry_after=30, jitter=False) == 60
    assert tasks.retry_countdown(retries=0, retry_after=90.2, jitter=False) == 91
    assert tasks.retry_countdown(retries=4, retry_after=3600, jitter=True) == 3600


def test_the_jittered_backoff_stays_within_its_exponential_bound():
    waits = {tasks.retry_countdown(retries=1) for _ in range(200)}

    assert min(waits) >= 0 and max(waits) <= 120
    assert len(waits) > 1


def test_the_tasks_have_the_retry_and_time_limits_of_their_provider():
    limits = {
        name.rsplit(".", 1)[-1]: (
            task.max_retries,
            task.soft_time_limit,
            task.time_limit,
            task.acks_late,
        )
        for name, task in celery_app.tasks.items()
        if name.startswith("syncjobs.tasks.sync_") and name.endswith("_for_user")
    }

    assert limits == {
        "sync_gmail_for_user": (3, 900, 1200, True),
        "sync_google_contacts_for_user": (3, 300, 600, True),
        "sync_google_calendar_for_user": (3, 300, 600, True),
        "sync_twitter_for_user": (3, 900, 1200, True),
    }


@pytest.mark.parametrize(
    ("name", "queue"),
    [
        ("syncjobs.tasks.sync_gmail_for_user", "gmail"),
        ("syncjobs.tasks.sync_gmail_all", "gmail"),
        ("syncjobs.tasks.sync_google_contacts_for_user", "google_contacts"),
        ("syncjobs.tasks.sync_google_contacts_all", "google_contacts"),
        ("syncjobs.tasks.sync_google_calendar_for_user", "google_calendar"),
        ("syncjobs.tasks.sync_google_calendar_all", "google_calendar"),
        ("syncjobs.tasks.sync_twitter_for_user", "twitter"),
        ("syncjobs.tasks.sync_twitter_all", "twitter"),
        ("syncjobs.tasks.rescore_all_users", "scoring"),
    ],
)
def test_each_task_is_routed_to_the_queue_of_its_provider(name, queue):
    assert name in celery_app.tasks
    route = celery_app.amqp.router.route({}, name, (), {})

    assert route["queue"].name == queue
