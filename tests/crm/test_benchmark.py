"""The benchmark command: both paths agree, nothing leaks, files are written.

Run on a tiny dataset; times are measured but never asserted.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from contacts.models import Contact, Interaction, User
from contacts.scoring import contacts_rescore
from contacts.selectors import contacts_overdue, contacts_upcoming_birthdays
from crm.benchmark import before, jobs, seed

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
TINY = 150
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _run(tmp_path, **options) -> dict:
    options = {
        "contacts": TINY,
        "repeat": 1,
        "silk_rounds": 2,
        "output_dir": tmp_path,
        "stdout": io.StringIO(),
        **options,
    }
    with time_machine.travel(NOW, tick=True):
        call_command("benchmark", **options)
    return json.loads((tmp_path / f"latest-{connection.vendor}.json").read_text())


@pytest.mark.django_db(transaction=True)
def test_every_job_agrees_with_the_original_and_writes_its_files(tmp_path):
    latest = _run(tmp_path, explain=True)

    paths = {(row["job"], row["path"]) for row in latest["results"]}
    assert paths == {
        ("rescore-sync", "before"),
        ("rescore-sync", "ours"),
        ("rescore-sync", "floor"),
        ("rescore-full", "before"),
        ("rescore-full", "ours"),
        ("rescore-full", "floor"),
        ("birthdays", "before"),
        ("birthdays", "ours"),
        ("birthdays", "ours-api"),
        ("birthdays", "ours-sql"),
        ("birthdays", "floor"),
        ("overdue", "before"),
        ("overdue", "ours"),
        ("overdue", "ours-api"),
        ("overdue", "ours-sql"),
        ("overdue", "floor"),
        ("list-birthday", "before"),
        ("list-birthday", "ours"),
        ("list-birthday", "ours-api"),
        ("list-overdue", "before"),
        ("list-overdue", "ours"),
        ("list-overdue", "ours-api"),
        ("push", "before"),
        ("push", "ours-api"),
    }
    assert [r for r in latest["results"] if not r["same_result"]] == []
    assert [r for r in latest["results"] if not r["leak_free"]] == []
    assert {r["size"] for r in latest["results"]} == {TINY}
    assert {r["repeats"] for r in latest["results"]} == {1}
    overdue_rows = {
        r["path"]: r["rows"] for r in latest["results"] if r["job"] == "overdue"
    }
    assert overdue_rows == {
        "before": 10,
        "ours": 10,
        "ours-api": 10,
        "ours-sql": 10,
        "floor": 10,
    }
    list_rows = {r["rows"] for r in latest["results"] if r["job"].startswith("list-")}
    assert list_rows == {50}

    assert [item["size"] for item in latest["silk"]] == [TINY]
    assert latest["silk"][0]["rounds"] == 2
    silk = latest["silk"][0]
    assert (silk["written"], silk["dropped"]) == (2, 0)
    assert {"mean_off_ms", "mean_on_ms", "mean_overhead_percent"} <= silk.keys()
    assert {plan["job"] for plan in latest["explain"]} == {
        "birthdays",
        "overdue",
        "push matching",
    }
    runs = sorted(tmp_path.glob(f"benchmark-{connection.vendor}-*.json"))
    assert len(runs) == 1
    plot = (tmp_path / f"benchmark-{connection.vendor}.png").read_bytes()
    assert plot.startswith(PNG_SIGNATURE)


@pytest.mark.django_db(transaction=True)
def test_it_deletes_the_benchmark_users_and_leaves_everyone_else_alone(tmp_path, alice):
    mine = Contact.objects.create(owner=alice, full_name="Alice's friend")

    _run(tmp_path, jobs="birthdays", silk_rounds=0)

    assert list(User.objects.values_list("email", flat=True)) == ["alice@example.com"]
    assert list(Contact.objects.values_list("id", flat=True)) == [mine.pk]
    assert Interaction.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_path_that_answers_differently_makes_the_command_fail(tmp_path, monkeypatch):
    original = before.before_overdue

    def reversed_overdue(**kwargs):
        return list(reversed(original(**kwargs)))

    monkeypatch.setattr(before, "before_overdue", reversed_overdue)

    with pytest.raises(CommandError, match="overdue/150/ours"):
        _run(tmp_path, jobs="overdue", silk_rounds=0)
    latest = json.loads((tmp_path / f"latest-{connection.vendor}.json").read_text())
    assert {r["path"]: r["same_result"] for r in latest["results"]} == {
        "before": True,
        "ours": False,
        "ours-api": False,
        "ours-sql": False,
        "floor": False,
    }


def test_it_refuses_an_unknown_job():
    with pytest.raises(CommandError, match="unknown jobs nope"):
        call_command("benchmark", jobs="birthdays,nope", stdout=io.StringIO())


@pytest.mark.django_db
def test_the_same_size_seeds_the_same_contacts_and_a_tenth_for_the_other_user():
    first = seed.seed_dataset(size=TINY, now=NOW)
    main, other = seed.benchmark_users()
    ids = set(Contact.objects.filter(owner=main).values_list("id", flat=True))
    references = set(
        Interaction.objects.filter(owner=main).values_list(
            "raw_reference_id", flat=True
        )
    )

    second = seed.seed_dataset(size=TINY, now=NOW)

    assert (second.contacts, second.other_contacts) == (TINY, TINY // 10)
    assert second.interactions == first.interactions
    assert set(Contact.objects.filter(owner=main).values_list("id", flat=True)) == ids
    assert (
        set(
            Interaction.objects.filter(owner=main).values_list(
                "raw_reference_id", flat=True
            )
        )
        == references
    )
    assert Contact.objects.filter(owner=other).count() == TINY // 10


@pytest.mark.django_db
def test_the_push_body_has_50_profiles_and_500_distinct_messages_50_already_stored():
    seed.seed_dataset(size=TINY, now=NOW)
    main, other = seed.benchmark_users()

    body = jobs.push_payload(owner=main, other=other, now=NOW)

    keys = jobs.push_keys_of(body)
    stored = Interaction.objects.filter(owner=main, raw_reference_id__in=keys).count()
    assert (len(body["profiles"]), len(body["messages"])) == (50, 500)
    assert len(set(keys)) == 500
    assert stored == 50


def _bday(owner: User, name: str, month: int, day: int, **fields) -> Contact:
    return Contact.objects.create(
        owner=owner,
        full_name=name,
        birthday=dt.date(1604, month, day),
        birthday_year_known=False,
        **fields,
    )


def _birthday_answers(owner: User, today: dt.date) -> tuple[list, list]:
    old = [
        (c.full_name, days)
        for c, days in before.before_upcoming_birthdays(
            owner=owner, today=today, days=7
        )
    ]
    ours = [
        (c.full_name, c.birthday_days_until)
        for c in contacts_upcoming_birthdays(owner=owner, today=today, days=7)
    ]
    return old, ours


@pytest.mark.django_db
def test_the_before_birthdays_follow_our_leap_day_rule_in_a_year_without_feb_29(
    alice, bob
):
    _bday(alice, "Leap Day", 2, 29)
    _bday(alice, "Feb Twentyeight", 2, 28)
    _bday(alice, "March First", 3, 1)
    _bday(alice, "March Fifth", 3, 5)
    _bday(alice, "Archived Feb", 2, 27, priority_level="archived")
    _bday(bob, "Bob's Leap Day", 2, 29)
    today = dt.date(2027, 2, 25)

    old, ours = _birthday_answers(alice, today)
    assert old == ours == [("Feb Twentyeight", 3), ("Leap Day", 3), ("March First", 4)]

    alice.leap_day_birthdays_on = "mar1"
    alice.save()
    old, ours = _birthday_answers(alice, today)
    assert old == ours == [("Feb Twentyeight", 3), ("Leap Day", 4), ("March First", 4)]


@pytest.mark.django_db
def test_the_before_overdue_counts_calendar_days_past_each_priority(alice, bob):
    for name, priority, days_ago in [
        ("High Forty", "high", 40),
        ("High Thirty", "high", 30),
        ("Medium Sixtyone", "medium", 61),
        ("Low Twohundred", "low", 200),
        ("Archived Old", "archived", 500),
    ]:
        Contact.objects.create(
            owner=alice,
            full_name=name,
            priority_level=priority,
            last_interaction_at=NOW - dt.timedelta(days=days_ago),
        )
    Contact.objects.create(
        owner=bob, full_name="Bob's", last_interaction_at=NOW - dt.timedelta(days=900)
    )

    old = [
        (c.full_name, days) for c, days in before.before_overdue(owner=alice, now=NOW)
    ]
    ours = [
        (c.full_name, c.days_overdue) for c in contacts_overdue(owner=alice, now=NOW)
    ]

    assert (
        old
        == ours
        == [("Low Twohundred", 20), ("High Forty", 10), ("Medium Sixtyone", 1)]
    )


@pytest.mark.django_db
def test_the_originals_batch_rescoring_writes_the_scores_contacts_rescore_writes():
    seed.seed_dataset(size=60, now=NOW)
    main, _ = seed.benchmark_users()
    zero = {"relationship_score": 0, "interaction_count": 0}

    def scores_after(rescore) -> dict:
        with transaction.atomic():
            Contact.objects.filter(owner=main).update(**zero)
            rescore()
            rows = Contact.objects.filter(owner=main).values_list(
                "id", "relationship_score", "interaction_count"
            )
            scores = {pk: (score, count) for pk, score, count in rows}
            transaction.set_rollback(True)
        return scores

    old = scores_after(lambda: before.before_batch_update_scores(owner=main, now=NOW))
    per_contact = scores_after(
        lambda: before.before_rescore_per_contact(owner=main, now=NOW)
    )
    ours = scores_after(
        lambda: contacts_rescore(contacts=Contact.objects.filter(owner=main), now=NOW)
    )

    assert len(ours) == 60
    assert old == per_contact == ours
    assert sum(score for score, _ in ours.values()) > 0


@pytest.mark.django_db
def test_it_refuses_to_run_while_another_run_holds_the_database(monkeypatch):
    from crm.benchmark import runner

    def busy():
        raise runner.BenchmarkBusy("another benchmark is running on this database")

    monkeypatch.setattr(runner, "exclusive_run", busy)

    with pytest.raises(CommandError, match="another benchmark is running"):
        call_command("benchmark", contacts=TINY, stdout=io.StringIO())
