"""Break the incremental nightly rescore: sequences after which it differs
from a full recompute at the same ``now``."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from contacts.models import Contact, Interaction, User
from syncjobs.services import rescore_all
from tests.contacts.test_scoring_nightly import add, fresh, recomputed, stored

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _staff_client(client):
    staff = User.objects.create_user(
        email="support@example.com", password="support-pass-1", is_superuser=True
    )
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    return client


# Both go through the admin, the writer outside a sync that these faults
# came from; tests/contacts/test_interaction_edits_rescore.py has each writer.
@pytest.mark.django_db
def test_a_deleted_interaction_is_reflected_by_the_next_nightly_run(client, alice):
    contact = Contact.objects.create(owner=alice, full_name="deleted from")
    add(contact, [("inbound", NOW - 2 * DAY), ("inbound", NOW - 3 * DAY)])
    rescore_all(owner=alice, now=NOW)
    staff = _staff_client(client)
    gone = Interaction.objects.get(contact=contact, occurred_at=NOW - 2 * DAY)

    with time_machine.travel(NOW + DAY / 2, tick=False):
        response = staff.post(
            f"/admin/contacts/interaction/{gone.pk}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    (run,) = rescore_all(owner=fresh(alice), now=NOW + DAY)

    assert run.details["full"] is False
    assert stored(alice) == recomputed(alice, NOW + DAY)
    assert stored(alice)["deleted from"][1] == 1


@pytest.mark.django_db
def test_a_redated_interaction_is_reflected_by_the_next_nightly_run(client, alice):
    contact = Contact.objects.create(owner=alice, full_name="redated")
    add(contact, [("inbound", NOW - 2 * DAY)])
    rescore_all(owner=alice, now=NOW)
    staff = _staff_client(client)
    interaction = Interaction.objects.get(contact=contact)

    with time_machine.travel(NOW + DAY / 2, tick=False):
        response = staff.post(
            f"/admin/contacts/interaction/{interaction.pk}/change/",
            {
                "owner": alice.pk,
                "contact": contact.pk,
                "platform": "email",
                "direction": "inbound",
                "raw_reference_id": interaction.raw_reference_id,
                "occurred_at_0": (NOW - 200 * DAY).strftime("%Y-%m-%d"),
                "occurred_at_1": (NOW - 200 * DAY).strftime("%H:%M:%S"),
                "is_read_by_recipient": "unknown",
            },
        )
    assert response.status_code == 302, response.content[:2000]
    rescore_all(owner=fresh(alice), now=NOW + DAY)

    assert stored(alice) == recomputed(alice, NOW + DAY)
    assert stored(alice)["redated"][2] == NOW - 200 * DAY


@pytest.mark.django_db
def test_a_future_interaction_counts_once_its_day_has_come(alice):
    contact = Contact.objects.create(owner=alice, full_name="future")
    add(contact, [("inbound", NOW - 40 * DAY), ("mutual", NOW + DAY / 2)])
    rescore_all(owner=alice, now=NOW)

    for night in range(1, 10):
        rescore_all(owner=fresh(alice), now=NOW + night * DAY)
        assert stored(alice) == recomputed(alice, NOW + night * DAY), night


@pytest.mark.django_db
def test_nightly_runs_track_a_full_recompute_across_a_year(alice):
    mixed = Contact.objects.create(owner=alice, full_name="mixed")
    add(
        mixed,
        [("outbound", NOW - n * 7 * DAY) for n in range(25)]
        + [("inbound", NOW - 100 * DAY), ("event", NOW - 5 * DAY)],
    )
    lonely = Contact.objects.create(owner=alice, full_name="outbound only")
    add(lonely, [("outbound", NOW - 6 * DAY), ("outbound", NOW - 29 * DAY)])
    rescore_all(owner=alice, now=NOW)

    for night in range(1, 400, 3):
        now = NOW + night * DAY
        rescore_all(owner=fresh(alice), now=now)
        assert stored(alice) == recomputed(alice, now), night


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_histories_and_uneven_nights_track_a_full_recompute(alice, seed):
    import random

    rng = random.Random(seed)
    directions = ("inbound", "outbound", "mutual", "event")
    for number in range(12):
        contact = Contact.objects.create(owner=alice, full_name=f"random {number}")
        add(
            contact,
            [
                (
                    rng.choice(directions),
                    NOW + dt.timedelta(seconds=rng.randint(-800 * 86400, 20 * 86400)),
                )
                for _ in range(rng.choice((1, 2, 5, 25)))
            ],
        )
    rescore_all(owner=alice, now=NOW)

    now = NOW
    for step in range(25):
        now += dt.timedelta(seconds=rng.randint(3600, 3 * 86400))
        rescore_all(owner=fresh(alice), now=now)
        assert stored(alice) == recomputed(alice, now), (seed, step, now)
