"""Notifications through the HTTP interface: list, unread count, mark read."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from rest_framework.test import APIClient

from contacts.models import Notification
from syncjobs.providers.base import ProviderError
from syncjobs.tasks import sync_failure_notify
from tests.accounts.clients import web_client

pytestmark = pytest.mark.django_db

BASE = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def notice(owner, title: str, *, minutes: int, read: bool = False, link="/contacts"):
    row = Notification.objects.create(
        owner=owner, notification_type="sync", title=title, read=read, link=link
    )
    # created_at is auto_now_add; date the rows explicitly to fix the order.
    Notification.objects.filter(pk=row.pk).update(
        created_at=BASE + dt.timedelta(minutes=minutes)
    )
    return row


@pytest.fixture
def alices(alice, bob):
    notice(bob, "Bob's", minutes=5)
    return [
        notice(alice, "oldest", minutes=1, read=True),
        notice(alice, "middle", minutes=2, link="/settings"),
        notice(alice, "newest", minutes=3),
    ]


def test_the_list_is_newest_first_with_page_meta(alice, alices):
    response = web_client(alice).get("/api/v1/notifications")

    assert response.status_code == 200
    body = response.json()
    assert [n["title"] for n in body["data"]] == ["newest", "middle", "oldest"]
    assert body["meta"] == {"total": 3, "page": 1, "page_size": 20, "total_pages": 1}
    first = body["data"][0]
    assert set(first) == {
        "id",
        "notification_type",
        "title",
        "body",
        "read",
        "link",
        "created_at",
    }
    assert first["created_at"] == "2026-03-10T12:03:00Z"


def test_unread_only_leaves_out_what_was_read(alice, alices):
    data = (
        web_client(alice).get("/api/v1/notifications?unread_only=true").json()["data"]
    )

    assert [n["title"] for n in data] == ["newest", "middle"]


def test_the_list_filters_by_link_and_pages(alice, alices):
    client = web_client(alice)

    by_link = client.get("/api/v1/notifications?link=/settings").json()["data"]
    page2 = client.get("/api/v1/notifications?page=2&page_size=2").json()

    assert [n["title"] for n in by_link] == ["middle"]
    assert [n["title"] for n in page2["data"]] == ["oldest"]
    assert page2["meta"] == {"total": 3, "page": 2, "page_size": 2, "total_pages": 2}


def test_the_unread_count_counts_only_your_unread_ones(alice, alices):
    response = web_client(alice).get("/api/v1/notifications/unread-count")

    assert response.json()["data"] == {"count": 2}


def test_marking_one_read(alice, alices):
    client = web_client(alice)
    newest = alices[2]

    response = client.post(f"/api/v1/notifications/{newest.pk}/read")

    assert response.status_code == 200
    assert response.json()["data"] == {"id": str(newest.pk), "read": True}
    assert client.get("/api/v1/notifications/unread-count").json()["data"] == {
        "count": 1
    }


def test_the_original_put_also_marks_one_read(alice, alices):
    response = web_client(alice).put(f"/api/v1/notifications/{alices[1].pk}/read")

    assert response.status_code == 200
    alices[1].refresh_from_db()
    assert alices[1].read is True


def test_bob_cannot_mark_alices_notification_read(alice, bob, alices):
    response = web_client(bob).post(f"/api/v1/notifications/{alices[2].pk}/read")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    alices[2].refresh_from_db()
    assert alices[2].read is False


def test_an_unknown_id_is_a_404(alice):
    response = web_client(alice).post(f"/api/v1/notifications/{uuid.uuid4()}/read")

    assert response.status_code == 404


def test_read_all_marks_only_your_own(alice, bob, alices):
    response = web_client(alice).post("/api/v1/notifications/read-all")

    assert response.json()["data"] == {"marked": True, "count": 2}
    assert not Notification.objects.filter(owner=alice, read=False).exists()
    assert Notification.objects.get(owner=bob).read is False


def test_a_sync_failure_after_every_retry_arrives_as_a_notification(alice):
    sync_failure_notify(
        user_id=str(alice.pk),
        platform="gmail",
        exc=ProviderError("Gmail answered HTTP 503"),
    )

    data = web_client(alice).get("/api/v1/notifications").json()["data"]

    assert [(n["title"], n["body"], n["link"], n["read"]) for n in data] == [
        (
            "Gmail sync failed",
            "Sync failed after multiple retries: Gmail answered HTTP 503",
            "/settings",
            False,
        )
    ]


def test_notifications_need_a_web_token():
    client = APIClient()

    assert client.get("/api/v1/notifications").status_code == 401
    assert client.get("/api/v1/notifications/unread-count").status_code == 401
    assert client.post("/api/v1/notifications/read-all").status_code == 401
