"""The sync admin: a read-only run timeline, and accounts whose tokens never show."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import User
from syncjobs import services
from syncjobs.models import ProviderAccount, SyncRun
from tests.syncjobs.test_tasks import FAKE, FakeProvider

ADMIN = "/admin/syncjobs"
ACCESS = "ya29.ACCESS-TOKEN-NEVER-SHOWN"
REFRESH = "1//REFRESH-TOKEN-NEVER-SHOWN"


@pytest.fixture
def staff(db):
    """Support staff with every permission of the two apps, add/change included."""
    user = User.objects.create_user(
        email="support@example.com", password="support-pass-1", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["contacts", "syncjobs"])
    )
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def fake(monkeypatch):
    for platform in list(services.PROVIDER_CLASSES):
        monkeypatch.setitem(services.PROVIDER_CLASSES, platform, FAKE)
    monkeypatch.setattr(FakeProvider, "script", [])
    monkeypatch.setattr(FakeProvider, "calls", [])
    return FakeProvider


@pytest.fixture
def google(alice):
    return ProviderAccount.objects.create(
        owner=alice,
        kind=ProviderAccount.KIND_GOOGLE,
        account_id="alice@example.com",
        access_token=ACCESS,
        refresh_token=REFRESH,
        token_expires_at=timezone.now() + dt.timedelta(hours=1),
        cursor={"gmail": {"history_id": "12345"}},
    )


def runs(owner: User, count: int, *, account=None) -> None:
    start = timezone.now() - dt.timedelta(days=30)
    SyncRun.objects.bulk_create(
        SyncRun(
            owner=owner,
            account=account,
            platform=("gmail", "twitter", "google_contacts")[i % 3],
            sync_type="scheduled",
            status=("success", "failed", "partial")[i % 3],
            started_at=start + dt.timedelta(minutes=i),
            completed_at=start + dt.timedelta(minutes=i, seconds=2),
            duration_ms=2000,
            records_fetched=i,
            details={"contacts_created": i},
        )
        for i in range(count)
    )


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path",
    [
        "syncrun/",
        "syncrun/?platform__exact=gmail",
        "syncrun/?q=alice",
        "provideraccount/",
    ],
)
def test_a_changelist_costs_the_same_queries_for_5_and_200_rows(
    staff_client, alice, bob, google, path, django_assert_max_num_queries
):
    runs(alice, 5, account=google)
    small = queries_of(staff_client, f"{ADMIN}/{path}")

    runs(alice, 100, account=google)
    runs(bob, 95)
    for i in range(50):
        ProviderAccount.objects.create(owner=bob, kind="twitter", account_id=str(i))
    with django_assert_max_num_queries(small):
        response = staff_client.get(f"{ADMIN}/{path}")

    assert response.status_code == 200
    assert small <= 12


def test_the_run_timeline_lists_the_columns_newest_first(staff_client, alice):
    runs(alice, 3)

    response = staff_client.get(f"{ADMIN}/syncrun/")

    listed = response.context["cl"].result_list
    assert [r.records_fetched for r in listed] == [2, 1, 0]
    html = response.content.decode()
    for column in (
        "started_at",
        "owner",
        "platform",
        "sync_type",
        "status",
        "duration_ms",
        "records_fetched",
        "records_created",
        "records_updated",
        "records_skipped",
        "records_failed",
        "contacts_rescored",
        "query_count",
    ):
        assert f"column-{column}" in html, column


def test_the_timeline_filters_by_platform_status_and_owner_email(
    staff_client, alice, bob
):
    runs(alice, 6)
    runs(bob, 3)

    def fetched(**params):
        response = staff_client.get(f"{ADMIN}/syncrun/", params)
        return sorted(
            (r.owner.email, r.records_fetched)
            for r in response.context["cl"].result_list
        )

    assert fetched(platform__exact="twitter", status__exact="failed") == [
        ("alice@example.com", 1),
        ("alice@example.com", 4),
        ("bob@example.com", 1),
    ]
    assert fetched(q="bob@example.com") == [
        ("bob@example.com", 0),
        ("bob@example.com", 1),
        ("bob@example.com", 2),
    ]


def test_a_run_page_is_read_only_even_for_staff_with_change_permission(
    staff_client, alice
):
    runs(alice, 1)
    run = SyncRun.objects.get()
    url = f"{ADMIN}/syncrun/{run.pk}/change/"

    page = staff_client.get(url)
    posted = staff_client.post(url, {"status": "success"})

    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in html
    assert 'name="status"' not in html
    assert "&quot;contacts_created&quot;: 0" in html  # the details, pretty-printed
    assert posted.status_code == 403
    assert staff_client.get(f"{ADMIN}/syncrun/add/").status_code == 403
    assert staff_client.get(f"{ADMIN}/syncrun/{run.pk}/delete/").status_code == 403
    run.refresh_from_db()
    assert run.status == "success"


def test_only_a_superuser_may_delete_runs(client, alice, admin_user):
    runs(alice, 1)
    run = SyncRun.objects.get()
    client.force_login(admin_user)

    response = client.post(f"{ADMIN}/syncrun/{run.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not SyncRun.objects.exists()


def test_tokens_never_appear_in_any_admin_page(
    staff_client, admin_user, client, alice, google
):
    runs(alice, 1, account=google)
    run = SyncRun.objects.get()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM syncjobs_provideraccount WHERE id = %s",
            [google.pk.hex],
        )
        stored_access, stored_refresh = cursor.fetchone()
    assert ACCESS not in stored_access  # encrypted at rest
    secrets = (
        ACCESS,
        REFRESH,
        stored_access,
        stored_refresh,
        "access_token",
        "refresh_token",
    )
    client.force_login(admin_user)
    pages = [
        f"{ADMIN}/provideraccount/",
        f"{ADMIN}/provideraccount/?q=alice",
        f"{ADMIN}/provideraccount/{google.pk}/change/",
        f"{ADMIN}/provideraccount/{google.pk}/history/",
        f"{ADMIN}/provideraccount/{google.pk}/delete/",
        f"{ADMIN}/syncrun/",
        f"{ADMIN}/syncrun/{run.pk}/change/",
        f"/admin/contacts/user/{alice.pk}/change/",
    ]

    for who in (staff_client, client):
        for url in pages:
            response = who.get(url)
            assert (url, response.status_code) == (url, 200)
            html = response.content.decode()
            assert [s for s in secrets if s in html] == [], url


def test_the_account_page_shows_status_cursor_and_expiry_and_saving_keeps_tokens(
    staff_client, google
):
    url = f"{ADMIN}/provideraccount/{google.pk}/change/"
    page = staff_client.get(url)
    html = page.content.decode()
    assert 'name="status"' in html
    assert "history_id" in html
    assert "field-token_expires_at" in html

    response = staff_client.post(
        url,
        {
            "owner": str(google.owner_id),
            "kind": "google",
            "account_id": "alice@example.com",
            "account_name": "Alice",
            "status": ProviderAccount.STATUS_REAUTH,
            "cursor": "{}",
            "initial-cursor": '{"gmail": {"history_id": "12345"}}',
        },
    )

    assert response.status_code == 302
    saved = ProviderAccount.objects.get(pk=google.pk)
    assert (saved.status, saved.cursor, saved.account_name) == (
        "reauth_required",
        {},
        "Alice",
    )
    assert (saved.access_token, saved.refresh_token) == (ACCESS, REFRESH)


def test_run_a_sync_now_runs_every_provider_of_the_account(
    staff_client, fake, alice, google, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"{ADMIN}/provideraccount/",
            {"action": "run_sync_now", "_selected_action": [str(google.pk)]},
            follow=True,
        )

    assert [str(m) for m in response.context["messages"]] == [
        "Queued 3 sync(s) for 1 account(s): sync_gmail_for_user, "
        "sync_google_contacts_for_user, sync_google_calendar_for_user"
    ]
    assert fake.calls == ["alice@example.com"] * 3
    assert sorted(SyncRun.objects.values_list("platform", "sync_type", "status")) == [
        ("gmail", "manual", "success"),
        ("google_calendar", "manual", "success"),
        ("google_contacts", "manual", "success"),
    ]


def test_run_a_sync_now_skips_an_account_that_needs_reconnecting(
    staff_client, fake, alice, google, django_capture_on_commit_callbacks
):
    google.status = ProviderAccount.STATUS_REAUTH
    google.save()

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            f"{ADMIN}/provideraccount/",
            {"action": "run_sync_now", "_selected_action": [str(google.pk)]},
            follow=True,
        )

    assert [str(m) for m in response.context["messages"]] == [
        "Not synced, the user must reconnect first: google:alice@example.com"
    ]
    assert fake.calls == []
    assert not SyncRun.objects.exists()
