"""Break the push's compiled lookup: same shape, other values; odd values; big lists."""

from __future__ import annotations

import pytest

from contacts.models import Contact, Interaction
from contacts.services import contact_create
from tests.linkedin.push_helpers import message, profile, push, token_client


@pytest.fixture
def client(alice):
    return token_client(alice)


def data(response) -> dict:
    assert response.status_code == 200, response.json()
    return response.json()["data"]


@pytest.mark.django_db
def test_the_same_shape_with_other_values_matches_the_other_contacts(
    alice, bob, client
):
    ann = contact_create(owner=alice, full_name="Ann Able")
    ben = contact_create(owner=alice, full_name="Ben Baker")
    contact_create(owner=bob, full_name="Ben Baker")

    first = push(client, {"messages": [message("ACoAAAnnUrn", "Ann Able")]})
    second = push(
        client,
        {"messages": [message("ACoAABenUrn", "Ben Baker", conversation_id="conv-ben")]},
    )

    assert data(first)["contacts_created"] == 0
    assert data(second)["contacts_created"] == 0
    assert Interaction.objects.filter(contact=ann).count() == 1
    assert Interaction.objects.filter(contact=ben).count() == 1
    assert not Interaction.objects.filter(owner=bob).exists()


@pytest.mark.django_db
def test_bob_on_the_same_thread_gets_his_own_contacts(alice, bob, client):
    contact_create(owner=alice, full_name="Cat Same")
    bobs_cat = contact_create(owner=bob, full_name="Cat Same")
    push(client, {"messages": [message("ACoAACatUrn", "Cat Same")]})

    response = push(
        token_client(bob),
        {"messages": [message("ACoAACatUrn", "Cat Same", conversation_id="conv-b")]},
    )

    assert data(response)["contacts_created"] == 0
    assert Interaction.objects.filter(owner=bob).get().contact_id == bobs_cat.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    ["prepared:0", "%s", "%%", "' OR 1=1 --", "Ünïcödé Ñame", "?", "$1", ":name"],
)
def test_names_that_look_like_placeholders_match_only_themselves(alice, client, name):
    target = contact_create(owner=alice, full_name=name)
    contact_create(owner=alice, full_name="Someone Else")

    response = push(client, {"messages": [message("ACoAAOddUrn", name)]})

    assert data(response)["contacts_created"] == 0
    assert Interaction.objects.get().contact_id == target.pk


@pytest.mark.django_db
def test_a_repeated_profile_in_one_push_is_one_contact(alice, client):
    body = {"profiles": [profile("dup-slug", "Dup Licate")] * 3}

    first = data(push(client, body))
    again = data(push(client, body))

    assert Contact.objects.filter(owner=alice).count() == 1
    assert (first["contacts_created"], again["contacts_created"]) == (1, 0)


@pytest.mark.django_db
def test_many_distinct_profiles_in_one_push(alice, client):
    # 50 is the most a push may carry.
    body = {"profiles": [profile(f"slug-{i:04d}", f"Person {i}") for i in range(50)]}

    assert data(push(client, body))["contacts_created"] == 50
    assert data(push(client, body))["contacts_created"] == 0
    assert Contact.objects.filter(owner=alice).count() == 50
