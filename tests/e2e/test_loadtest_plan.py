"""The load test's plumbing: its plan, its push bodies, its report and its guards.

The load itself (``bin/loadtest``) takes minutes and PostgreSQL; these check
in a second that what it sends is accepted and that what it reports is
counted right.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from contacts.models import Interaction
from crm.benchmark.seed import benchmark_users, seed_dataset
from crm.loadtest.bodies import push_body
from crm.loadtest.plan import WEIGHTS, load_report, loadtest_plan, percentile
from crm.management.commands.loadtest import _mix

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def test_a_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]

    assert [percentile(values, q) for q in (0.5, 0.95, 0.99, 1.0)] == [
        50.0,
        95.0,
        99.0,
        100.0,
    ]
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_the_report_counts_each_endpoint_and_all_of_them_and_every_server_error(
    tmp_path,
):
    log = tmp_path / "requests.csv"
    rows = ["name,status,ms,started"]
    rows += [f"list,200,{ms},{1000 + ms / 100}" for ms in range(1, 101)]
    rows += ["push,200,40,1000.2", "push,503,12,1000.4", "push,0,30000,1000.6"]
    rows += ["overdue,429,3,1001.01"]
    log.write_text("\n".join(rows) + "\n")

    report = load_report(requests_log=log)
    summary = report.as_dict()

    by_name = {row["name"]: row for row in summary["endpoints"]}
    assert [row["name"] for row in summary["endpoints"]] == [
        "list",
        "birthdays",
        "overdue",
        "push",
    ]
    assert (by_name["list"]["requests"], by_name["list"]["p50_ms"]) == (100, 50.0)
    assert (by_name["list"]["p95_ms"], by_name["list"]["p99_ms"]) == (95.0, 99.0)
    assert by_name["birthdays"]["requests"] == 0
    assert by_name["push"]["statuses"] == {"0": 1, "200": 1, "503": 1}
    assert by_name["push"]["server_errors"] == 2
    assert summary["overall"]["requests"] == 104
    assert summary["overall"]["server_errors"] == 2
    assert report.overall.other_failures == 1
    assert summary["seconds"] == 1.0
    assert summary["achieved_rps"] == 104.0


def test_a_mix_gives_the_named_weights_and_zero_to_the_rest():
    assert _mix("list=4,push=1") == {
        "list": 4,
        "birthdays": 0,
        "overdue": 0,
        "push": 1,
    }
    with pytest.raises(argparse.ArgumentTypeError):
        _mix("stats=1")
    with pytest.raises(argparse.ArgumentTypeError):
        _mix("list=0")


@pytest.mark.django_db
def test_a_push_of_the_plan_stores_three_messages_and_skips_the_stored_one(tmp_path):
    seed_dataset(size=60, now=NOW)
    owner, _ = benchmark_users()
    plan = loadtest_plan(
        owner=owner,
        host="http://127.0.0.1:1",
        rate=200,
        users=50,
        run_id="t1",
        requests_log=tmp_path / "requests.csv",
    )
    body = push_body(plan=plan, number=7, rng=random.Random(3), now=NOW)
    before = Interaction.objects.filter(owner=owner).count()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {plan['token']}")

    response = client.post("/api/v1/linkedin/push", body, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert (
        data["contacts_created"],
        data["interactions_created"],
        data["interactions_skipped"],
    ) == (0, 3, 1)
    assert Interaction.objects.filter(owner=owner).count() == before + 3
    stored = Interaction.objects.filter(
        owner=owner, raw_reference_id__startswith="linkedin:lt-t1-7:"
    )
    assert sorted(stored.values_list("raw_reference_id", flat=True)) == [
        "linkedin:lt-t1-7:h1",
        "linkedin:lt-t1-7:h2",
        "linkedin:lt-t1-7:h3",
    ]
    assert plan["weights"] == WEIGHTS
    assert plan["list_pages"] == 3


def test_the_load_test_refuses_sqlite(monkeypatch):
    database = settings.DATABASES["default"]
    monkeypatch.setitem(database, "ENGINE", "crm.sqlite_backend")

    with pytest.raises(CommandError, match="runs on PostgreSQL"):
        call_command("loadtest", "--duration", "5")


def test_the_load_test_refuses_a_database_on_another_machine(monkeypatch):
    database = settings.DATABASES["default"]
    monkeypatch.setitem(database, "ENGINE", "django.db.backends.postgresql")
    monkeypatch.setitem(database, "HOST", "db.example.com")

    with pytest.raises(CommandError, match="on this machine only"):
        call_command("loadtest", "--duration", "5")


def test_the_load_test_is_bounded_in_time():
    with pytest.raises(CommandError, match="--duration must be 1-600 seconds"):
        call_command("loadtest", "--duration", "601")
