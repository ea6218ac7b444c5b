"""Interaction writers outside a sync rescore the contacts they change.

The nightly rescore only looks at contacts whose interactions' ages crossed
a boundary (contacts.scoring.nightly_rescore_start), so each of these must
leave the stored values right itself: the admin's add, edit (re-date, move
to another contact), delete and bulk delete.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection

from contacts.models import Contact, Interaction, User
from contacts.services import interaction_contacts, interaction_edits_rescore
from tests.contacts.test_scoring_nightly import add, recomputed, stored

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
ADMIN = "/admin/contacts/interaction"


@pytest.fixture
def staff_client(client, db):
    staff = User.objects.create_user(
        email="support@example.com", password="support-pass-1", is_superuser=True
    )
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    return client


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _form(interaction: Interaction, **changes) -> dict:
    values = {
        "owner": interaction.owner_id,
        "contact": interaction.contact_id,
        "platform": interaction.platform,
        "direction": interaction.direction,
        "raw_reference_id": interaction.raw_reference_id,
        "occurred_at": interaction.occurred_at,
        "is_read_by_recipient": "unknown",
        **changes,
    }
    moment = values.pop("occurred_at")
    values["occurred_at_0"] = moment.strftime("%Y-%m-%d")
    values["occurred_at_1"] = moment.strftime("%H:%M:%S")
    return values


def _scored(owner) -> dict:
    """Score every contact of ``owner`` as a full rescore at NOW would."""
    from contacts.scoring import contacts_rescore

    contacts_rescore(contacts=Contact.objects.filter(owner=owner), now=NOW)
    return stored(owner)


@pytest.mark.django_db
def test_adding_an_interaction_in_the_admin_rescores_its_contact(staff_client, alice):
    contact = Contact.objects.create(owner=alice, full_name="added to")
    _scored(alice)
    response = staff_client.post(
        f"{ADMIN}/add/",
        _form(
            Interaction(
                owner=alice,
                contact=contact,
                platform="email",
                direction="mutual",
                raw_reference_id="admin:1",
                occurred_at=NOW - 3 * DAY,
            )
        ),
    )

    assert response.status_code == 302
    assert stored(alice) == recomputed(alice, NOW)
    assert stored(alice)["added to"][1:] == (1, NOW - 3 * DAY)


@pytest.mark.django_db
def test_redating_an_interaction_in_the_admin_rescores_its_contact(staff_client, alice):
    contact = Contact.objects.create(owner=alice, full_name="redated")
    add(contact, [("inbound", NOW - 2 * DAY)])
    before = _scored(alice)["redated"]
    interaction = Interaction.objects.get(contact=contact)

    response = staff_client.post(
        f"{ADMIN}/{interaction.pk}/change/",
        _form(interaction, occurred_at=NOW - 800 * DAY),
    )

    assert response.status_code == 302
    assert stored(alice) == recomputed(alice, NOW)
    assert before[2] == NOW - 2 * DAY
    assert stored(alice)["redated"][2] == NOW - 800 * DAY


@pytest.mark.django_db
def test_moving_an_interaction_in_the_admin_rescores_old_and_new_contact(
    staff_client, alice
):
    old = Contact.objects.create(owner=alice, full_name="old")
    new = Contact.objects.create(owner=alice, full_name="new")
    add(old, [("inbound", NOW - 2 * DAY), ("outbound", NOW - 9 * DAY)])
    _scored(alice)
    moved = Interaction.objects.get(contact=old, direction="inbound")

    response = staff_client.post(
        f"{ADMIN}/{moved.pk}/change/", _form(moved, contact=new.pk)
    )

    assert response.status_code == 302
    assert stored(alice) == recomputed(alice, NOW)
    assert stored(alice)["old"][1:] == (1, NOW - 9 * DAY)
    assert stored(alice)["new"][1:] == (1, NOW - 2 * DAY)


@pytest.mark.django_db
def test_moving_an_interaction_to_another_users_contact_rescores_both(
    staff_client, alice, bob
):
    mine = Contact.objects.create(owner=alice, full_name="alice's")
    theirs = Contact.objects.create(owner=bob, full_name="bob's")
    add(mine, [("inbound", NOW - 2 * DAY)])
    _scored(alice)
    moved = Interaction.objects.get(contact=mine)

    response = staff_client.post(
        f"{ADMIN}/{moved.pk}/change/",
        _form(moved, contact=theirs.pk, owner=bob.pk),
    )

    assert response.status_code == 302
    assert stored(alice) == {"alice's": (0, 0, None)}
    assert stored(bob) == recomputed(bob, NOW)
    assert stored(bob)["bob's"][1:] == (1, NOW - 2 * DAY)


@pytest.mark.django_db
def test_an_interaction_owned_by_another_user_than_its_contact_is_refused(
    staff_client, alice, bob
):
    theirs = Contact.objects.create(owner=bob, full_name="bob's")
    mine = Contact.objects.create(owner=alice, full_name="alice's")
    add(mine, [("inbound", NOW - 2 * DAY)])
    interaction = Interaction.objects.get()

    response = staff_client.post(
        f"{ADMIN}/{interaction.pk}/change/", _form(interaction, contact=theirs.pk)
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "owner": ["Must be the owner of the contact."]
    }
    assert Interaction.objects.get().contact_id == mine.pk


@pytest.mark.django_db
def test_deleting_an_interaction_in_the_admin_rescores_its_contact(staff_client, alice):
    contact = Contact.objects.create(owner=alice, full_name="deleted from")
    add(contact, [("inbound", NOW - 2 * DAY), ("inbound", NOW - 3 * DAY)])
    _scored(alice)
    gone = Interaction.objects.get(occurred_at=NOW - 2 * DAY)

    response = staff_client.post(f"{ADMIN}/{gone.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert stored(alice) == recomputed(alice, NOW)
    assert stored(alice)["deleted from"][1:] == (1, NOW - 3 * DAY)


@pytest.mark.django_db
def test_bulk_deleting_interactions_in_the_admin_rescores_every_contact(
    staff_client, alice, bob
):
    first = Contact.objects.create(owner=alice, full_name="first")
    second = Contact.objects.create(owner=alice, full_name="second")
    other = Contact.objects.create(owner=bob, full_name="other")
    add(first, [("inbound", NOW - 2 * DAY), ("outbound", NOW - 40 * DAY)])
    add(second, [("mutual", NOW - 5 * DAY)])
    add(other, [("inbound", NOW - DAY)])
    _scored(alice)
    _scored(bob)
    chosen = Interaction.objects.filter(occurred_at__gte=NOW - 5 * DAY)

    response = staff_client.post(
        f"{ADMIN}/",
        {
            "action": "delete_selected",
            "_selected_action": [str(pk) for pk in chosen.values_list("pk", flat=True)],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert Interaction.objects.count() == 1
    assert stored(alice) == recomputed(alice, NOW)
    assert stored(alice)["first"][1:] == (1, NOW - 40 * DAY)
    assert stored(alice)["second"] == (0, 0, None)
    assert stored(bob) == {"other": (0, 0, None)}


@pytest.mark.django_db
def test_the_rescore_is_one_aggregate_and_one_update_per_owner(
    alice, django_assert_num_queries
):
    contacts = [
        Contact.objects.create(owner=alice, full_name=f"c{n}") for n in range(5)
    ]
    for contact in contacts:
        add(contact, [("inbound", NOW - 2 * DAY)])
    pairs = interaction_contacts(Interaction.objects.all())
    assert len(pairs) == 5

    lock = 1 if connection.vendor == "postgresql" else 0
    with django_assert_num_queries(2 + lock):
        changed = interaction_edits_rescore(contacts=pairs, now=NOW)

    assert changed == 5
    assert stored(alice) == recomputed(alice, NOW)


@pytest.mark.django_db
def test_a_pair_naming_another_owners_contact_is_left_alone(alice, bob):
    theirs = Contact.objects.create(owner=bob, full_name="bob's")
    add(theirs, [("inbound", NOW - 2 * DAY)])

    changed = interaction_edits_rescore(contacts={(alice.pk, theirs.pk)}, now=NOW)

    assert changed == 0
    assert stored(bob) == {"bob's": (0, 0, None)}
