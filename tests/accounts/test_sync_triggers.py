"""Manual sync triggers: a 400 without a connection, else the task queued on commit."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from syncjobs import tasks
from syncjobs.models import ProviderAccount
from tests.accounts.clients import error_message, extension_client, web_client

pytestmark = pytest.mark.django_db

ROUTES = [
    ("google", "google_contacts", "google", "Google"),
    ("google-calendar", "google_calendar", "google", "Google"),
    ("gmail", "gmail", "google", "Google"),
    ("twitter", "twitter", "twitter", "X"),
]


@pytest.fixture
def sent(monkeypatch):
    """Record what is handed to the broker instead of running the sync."""
    calls: list[tuple[str, tuple, dict, str]] = []

    def recorder(task):
        def apply_async(args=None, kwargs=None, task_id=None, **options):
            calls.append((task.name, tuple(args or ()), dict(kwargs or {}), task_id))

        return apply_async

    for task in tasks.PLATFORM_TASKS.values():
        monkeypatch.setattr(task, "apply_async", recorder(task))
    return calls


@pytest.mark.parametrize(("route", "platform", "kind", "label"), ROUTES)
def test_a_sync_without_a_connected_account_is_a_400(
    alice, bob, sent, route, platform, kind, label
):
    ProviderAccount.objects.create(owner=bob, kind=kind, account_id="bobs")

    response = web_client(alice).post(f"/api/v1/contacts/sync/{route}")

    assert response.status_code == 400
    assert error_message(response) == (
        f"{label} account not connected. Complete {label} OAuth first."
    )
    assert response.json()["data"] is None
    assert sent == []


@pytest.mark.parametrize(("route", "platform", "kind", "label"), ROUTES)
def test_a_sync_is_queued_after_commit_and_answered_at_once(
    alice, sent, django_capture_on_commit_callbacks, route, platform, kind, label
):
    ProviderAccount.objects.create(owner=alice, kind=kind, account_id="mine")

    with django_capture_on_commit_callbacks() as callbacks:
        response = web_client(alice).post(f"/api/v1/contacts/sync/{route}")
        assert sent == []

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["status"], data["platform"]) == ("started", platform)
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [
        (
            f"syncjobs.tasks.sync_{platform}_for_user",
            (str(alice.pk),),
            {"trigger": "manual"},
            data["task_id"],
        )
    ]


def test_an_account_waiting_for_reauthorisation_does_not_count(alice, sent):
    ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="casey@exampleorg.com",
        status=ProviderAccount.STATUS_REAUTH,
    )

    response = web_client(alice).post("/api/v1/contacts/sync/gmail")

    assert response.status_code == 400
    assert error_message(response) == (
        "Google account not connected: reconnect it in Settings"
    )


def test_sync_triggers_are_throttled_per_user(alice, sent, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"sync_trigger": "2/min"})
    ProviderAccount.objects.create(owner=alice, kind="google", account_id="a@b.c")
    client = web_client(alice)

    statuses = [
        client.post("/api/v1/contacts/sync/gmail").status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 429]


def test_sync_triggers_need_a_web_token(alice, sent):
    ProviderAccount.objects.create(owner=alice, kind="google", account_id="a@b.c")

    assert APIClient().post("/api/v1/contacts/sync/gmail").status_code == 401
    assert (
        extension_client(alice).post("/api/v1/contacts/sync/gmail").status_code == 401
    )
    assert sent == []
