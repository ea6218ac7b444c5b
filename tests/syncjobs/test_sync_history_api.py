"""GET /api/v1/sync-history and /api/v1/sync-history/stats (spec §2.6, §7.6)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rest_framework.test import APIClient

from syncjobs.api import success_rate
from syncjobs.models import SyncRun

URL = "/api/v1/sync-history"
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def run(owner, minute: int, platform="gmail", status="success", **fields) -> SyncRun:
    started = T0 + dt.timedelta(minutes=minute)
    return SyncRun.objects.create(
        owner=owner,
        platform=platform,
        sync_type="scheduled",
        status=status,
        started_at=started,
        completed_at=started + dt.timedelta(seconds=3),
        duration_ms=3000,
        **fields,
    )


def test_it_lists_the_users_runs_newest_first_with_every_column(alice):
    older = run(alice, 0, records_created=2)
    newer = run(
        alice,
        5,
        platform="twitter",
        status="failed",
        records_created=1,
        records_updated=4,
        records_failed=3,
        records_fetched=9,
        records_skipped=1,
        contacts_rescored=7,
        query_count=12,
        error_message="429 Too Many Requests",
        details={"retrying": True, "retry_after": 60},
    )

    response = client_for(alice).get(URL)

    body = response.json()
    assert response.status_code == 200
    assert (body["error"], body["meta"]) == (
        None,
        {"total": 2, "limit": 50, "offset": 0},
    )
    assert [item["id"] for item in body["data"]] == [str(newer.pk), str(older.pk)]
    assert body["data"][0] == {
        "id": str(newer.pk),
        "user_id": str(alice.pk),
        "platform": "twitter",
        "sync_type": "scheduled",
        "status": "failed",
        "records_created": 1,
        "records_updated": 4,
        "records_failed": 3,
        "duration_ms": 3000,
        "error_message": "429 Too Many Requests",
        "details": '{"retrying": true, "retry_after": 60}',
        "started_at": "2026-03-01T12:05:00Z",
        "completed_at": "2026-03-01T12:05:03Z",
        "records_fetched": 9,
        "records_skipped": 1,
        "contacts_rescored": 7,
        "query_count": 12,
    }
    assert json.loads(body["data"][0]["details"]) == {
        "retrying": True,
        "retry_after": 60,
    }
    assert (body["data"][1]["details"], body["data"][1]["error_message"]) == (
        None,
        None,
    )


def test_it_filters_by_platform_and_status(alice):
    run(alice, 0, platform="gmail", status="success")
    wanted = run(alice, 1, platform="gmail", status="failed")
    run(alice, 2, platform="twitter", status="failed")

    body = client_for(alice).get(URL, {"platform": "gmail", "status": "failed"}).json()

    assert [item["id"] for item in body["data"]] == [str(wanted.pk)]
    assert body["meta"] == {"total": 1, "limit": 50, "offset": 0}


def test_limit_and_offset_page_through_the_runs(alice):
    made = [run(alice, minute) for minute in range(5)]

    body = client_for(alice).get(URL, {"limit": 2, "offset": 2}).json()
    past_end = client_for(alice).get(URL, {"limit": 2, "offset": 9}).json()

    assert [item["id"] for item in body["data"]] == [str(made[2].pk), str(made[1].pk)]
    assert body["meta"] == {"total": 5, "limit": 2, "offset": 2}
    assert (past_end["data"], past_end["meta"]["total"]) == ([], 5)


def test_runs_started_at_the_same_moment_page_without_repeats(alice):
    made = [run(alice, 0) for _ in range(6)]

    pages = [
        client_for(alice).get(URL, {"limit": 2, "offset": offset}).json()["data"]
        for offset in (0, 2, 4)
    ]

    seen = [item["id"] for page in pages for item in page]
    assert sorted(seen) == sorted(str(r.pk) for r in made)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
def test_a_bad_limit_or_offset_is_a_400(alice, params, field):
    response = client_for(alice).get(URL, params)

    body = response.json()
    assert response.status_code == 400
    assert body["data"] is None
    assert body["error"]["status"] == 400
    assert list(body["error"]["fields"]) == [field]


def test_the_largest_limit_is_200(alice):
    run(alice, 0)

    response = client_for(alice).get(URL, {"limit": 200})

    assert (response.status_code, response.json()["meta"]["limit"]) == (200, 200)


def test_bob_never_sees_alices_runs(alice, bob):
    run(alice, 0)
    run(alice, 1, platform="twitter")
    mine = run(bob, 2)

    listed = client_for(bob).get(URL).json()
    stats = client_for(bob).get(f"{URL}/stats").json()

    assert [item["id"] for item in listed["data"]] == [str(mine.pk)]
    assert listed["meta"]["total"] == 1
    assert list(stats["data"]) == ["gmail"]
    assert stats["data"]["gmail"]["total_syncs"] == 1


def test_history_needs_a_signed_in_user(db):
    assert APIClient().get(URL).status_code in (401, 403)
    assert APIClient().get(f"{URL}/stats").status_code in (401, 403)


def test_stats_count_runs_per_platform(alice):
    run(alice, 0, platform="telegram", status="success")
    run(alice, 1, platform="telegram", status="failed")
    run(alice, 2, platform="telegram", status="success")
    run(alice, 3, platform="gmail", status="success")

    body = client_for(alice).get(f"{URL}/stats").json()

    assert body["data"] == {
        "gmail": {
            "total_syncs": 1,
            "success_count": 1,
            "failed_count": 0,
            "success_rate": 100.0,
            "last_sync": "2026-03-01T12:03:00Z",
        },
        "telegram": {
            "total_syncs": 3,
            "success_count": 2,
            "failed_count": 1,
            "success_rate": 66.7,
            "last_sync": "2026-03-01T12:02:00Z",
        },
    }


def test_stats_of_one_platform_leave_the_others_out(alice):
    run(alice, 0, platform="telegram")
    run(alice, 1, platform="gmail", status="partial")

    body = client_for(alice).get(f"{URL}/stats", {"platform": "gmail"}).json()

    assert body["data"] == {
        "gmail": {
            "total_syncs": 1,
            "success_count": 0,
            "failed_count": 0,
            "success_rate": 0.0,
            "last_sync": "2026-03-01T12:01:00Z",
        }
    }


def test_stats_without_runs_are_an_empty_map(alice):
    response = client_for(alice).get(f"{URL}/stats")

    assert (response.status_code, response.json()["data"]) == (200, {})


@pytest.mark.parametrize(
    ("successes", "total", "rate"),
    [(2, 3, 66.7), (1, 1, 100.0), (1, 3, 33.3), (1, 16, 6.3), (0, 4, 0.0), (0, 0, 0.0)],
)
def test_the_success_rate_is_a_percent_with_one_decimal_halves_up(
    successes, total, rate
):
    assert success_rate(successes=successes, total=total) == rate


def test_the_history_costs_the_same_queries_for_3_and_150_runs(
    alice, django_assert_max_num_queries
):
    for minute in range(3):
        run(alice, minute)
    client = client_for(alice)

    with django_assert_max_num_queries(2):
        client.get(URL)
    SyncRun.objects.bulk_create(
        SyncRun(owner=alice, platform="gmail", sync_type="scheduled", started_at=T0)
        for _ in range(147)
    )
    with django_assert_max_num_queries(2):
        assert client.get(URL, {"limit": 200}).json()["meta"]["total"] == 150
    with django_assert_max_num_queries(1):
        client.get(f"{URL}/stats")
