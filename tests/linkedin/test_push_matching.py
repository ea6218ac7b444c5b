"""Which contact a pushed profile or message lands on: id, then URL, then name."""

from __future__ import annotations

import pytest

from contacts.models import Contact, Interaction
from contacts.services import contact_create
from linkedin.matching import contacts_for_push, push_keys
from linkedin.serializers import push_payload_from_data
from tests.linkedin.push_helpers import message, profile, push, token_client

JANE_URL = "https://www.linkedin.com/in/jane-doe-123"


@pytest.fixture
def client(alice):
    return token_client(alice)


@pytest.fixture
def jane(alice) -> Contact:
    """B04's stored contact X, saved with a trailing slash."""
    return contact_create(
        owner=alice, full_name="Jane Doe", linkedin_url=JANE_URL + "/"
    )


def counts(response) -> tuple[int, int, int, int]:
    assert response.status_code == 200, response.json()
    body = response.json()["data"]
    return (
        body["contacts_created"],
        body["contacts_updated"],
        body["interactions_created"],
        body["interactions_skipped"],
    )


# --- B04: one profile, many URL spellings ---------------------------------


@pytest.mark.parametrize(
    "profile_url",
    [
        "http://uk.linkedin.com/in/jane-doe-123?originalSubdomain=uk",
        "linkedin.com/in/jane-doe-123",
        "https://www.linkedin.com/in/jane-doe-123/details/experience/",
        "https://m.linkedin.com/in/jane-doe-123/#about",
        "  HTTPS://WWW.LINKEDIN.COM/in/Jane-Doe-123  ",
    ],
    ids=[
        "a-country-host-and-query",
        "b-no-scheme",
        "c-sub-path",
        "d-mobile-and-fragment",
        "e-case-and-spaces",
    ],
)
def test_b04_every_spelling_of_the_url_matches_the_stored_contact(
    alice, client, jane, profile_url
):
    body = {
        "profiles": [
            {
                "full_name": "Jane Doe",
                "profile_url": profile_url,
                "headline": "CFO at Doeco",
            }
        ]
    }

    response = push(client, body)

    assert counts(response) == (0, 1, 0, 0)
    assert Contact.objects.filter(owner=alice).count() == 1
    jane.refresh_from_db()
    assert jane.linkedin_headline == "CFO at Doeco"
    assert jane.linkedin_url == JANE_URL
    assert jane.linkedin_url_key == JANE_URL


def test_b04_all_five_spellings_in_one_push_land_on_the_stored_contact(
    alice, client, jane
):
    urls = [
        "http://uk.linkedin.com/in/jane-doe-123?originalSubdomain=uk",
        "linkedin.com/in/jane-doe-123",
        "https://www.linkedin.com/in/jane-doe-123/details/experience/",
        "https://m.linkedin.com/in/jane-doe-123/#about",
        "  HTTPS://WWW.LINKEDIN.COM/in/Jane-Doe-123  ",
    ]
    body = {"profiles": [{"full_name": "Jane Doe", "profile_url": url} for url in urls]}

    response = push(client, body)

    # Only the first one changes her row (its URL becomes canonical).
    assert counts(response) == (0, 1, 0, 0)
    assert list(Contact.objects.filter(owner=alice).values_list("pk", flat=True)) == [
        jane.pk
    ]


def test_b04_f_a_company_page_is_rejected_and_never_matched(alice, client, jane):
    body = {
        "profiles": [
            {
                "full_name": "Jane Doe",
                "profile_url": "https://www.linkedin.com/company/jane-doe-123",
            }
        ]
    }

    response = push(client, body)

    assert response.status_code == 400
    assert (
        response.json()["error"]["message"]
        == "profiles[0].profile_url: not a LinkedIn person-profile URL"
    )
    jane.refresh_from_db()
    assert jane.linkedin_url == JANE_URL + "/"
    assert Contact.objects.filter(owner=alice).count() == 1


def test_b04_g_a_different_slug_with_the_same_name_is_a_new_contact(
    alice, client, jane
):
    body = {
        "profiles": [
            {
                "full_name": "Jane Doe",
                "profile_url": "https://www.linkedin.com/in/jane-doe-1234",
            }
        ]
    }

    response = push(client, body)

    assert counts(response) == (1, 0, 0, 0)
    other = Contact.objects.filter(owner=alice).exclude(pk=jane.pk).get()
    assert other.linkedin_url_key == "https://www.linkedin.com/in/jane-doe-1234"
    jane.refresh_from_db()
    assert jane.linkedin_url == JANE_URL + "/"


def test_a_message_from_a_different_slug_never_takes_the_same_named_contact(
    alice, client, jane
):
    response = push(client, {"messages": [message("jane-doe-1234", "Jane Doe")]})

    assert counts(response) == (1, 0, 1, 0)
    stub = Contact.objects.filter(owner=alice).exclude(pk=jane.pk).get()
    assert stub.linkedin_profile_id == "jane-doe-1234"
    assert Interaction.objects.get(owner=alice).contact_id == stub.pk


# --- the match order -------------------------------------------------------


def test_the_profile_id_wins_over_the_url(alice, client):
    by_id = contact_create(owner=alice, full_name="By Id", linkedin_profile_id="kai-id")
    contact_create(
        owner=alice,
        full_name="By Url",
        linkedin_url="https://www.linkedin.com/in/kai-url",
    )

    push(
        client,
        {
            "profiles": [
                profile(
                    "kai-id",
                    profile_url="https://www.linkedin.com/in/kai-url",
                    headline="Pilot",
                )
            ]
        },
    )

    assert Contact.objects.get(linkedin_headline="Pilot").pk == by_id.pk


def test_a_message_id_that_is_the_slug_of_a_stored_url_matches_it(alice, client):
    lou = contact_create(
        owner=alice,
        full_name="Lou Slug",
        linkedin_url="https://de.linkedin.com/in/Lou-Slug/",
    )

    response = push(client, {"messages": [message("lou-slug", "Somebody Else")]})

    assert counts(response) == (0, 1, 1, 0)
    lou.refresh_from_db()
    assert lou.linkedin_profile_id == "lou-slug"


def test_a_name_match_ignores_letter_case_and_spacing(alice, client):
    max_ = contact_create(owner=alice, full_name="Max Mustermann")

    response = push(
        client, {"messages": [message("ACoAAMaxUrn", "  max   MUSTERMANN ")]}
    )

    assert counts(response) == (0, 1, 1, 0)
    assert Interaction.objects.get(owner=alice).contact_id == max_.pk


def test_a_name_shared_by_two_contacts_matches_neither(alice, client):
    first = contact_create(owner=alice, full_name="Sam Twin")
    second = contact_create(owner=alice, full_name="sam twin")

    response = push(client, {"messages": [message("ACoAASamUrn", "Sam Twin")]})

    assert counts(response) == (1, 0, 1, 0)
    stub = (
        Contact.objects.filter(owner=alice).exclude(pk__in=[first.pk, second.pk]).get()
    )
    assert stub.linkedin_profile_id == "ACoAASamUrn"


def test_a_message_without_id_whose_name_is_shared_is_skipped_not_stubbed(
    alice, client
):
    contact_create(owner=alice, full_name="Sam Twin")
    contact_create(owner=alice, full_name="Sam Twin")

    response = push(client, {"messages": [message(None, "Sam Twin")]})

    assert counts(response) == (0, 0, 0, 1)
    assert Contact.objects.filter(owner=alice).count() == 2


def test_a_member_urn_message_may_take_a_contact_known_by_its_slug(alice, client):
    # A slug and a member URN id are two names for one member, so they do
    # not contradict each other; two different slugs do.
    ola = contact_create(
        owner=alice,
        full_name="Ola Both",
        linkedin_url="https://www.linkedin.com/in/ola-both",
    )

    response = push(client, {"messages": [message("ACoAAOlaUrn", "Ola Both")]})

    assert counts(response) == (0, 1, 1, 0)
    ola.refresh_from_db()
    assert ola.linkedin_profile_id == "ACoAAOlaUrn"


def test_a_profile_is_never_matched_by_name(alice, client):
    contact_create(owner=alice, full_name="Pia Named")

    response = push(client, {"profiles": [profile("pia-named", "Pia Named")]})

    assert counts(response) == (1, 0, 0, 0)


def test_other_users_contacts_are_never_matched(alice, bob, client):
    contact_create(owner=bob, full_name="Rae Bobs", linkedin_profile_id="rae-bobs")

    response = push(
        client,
        {
            "profiles": [profile("rae-bobs", "Rae Bobs")],
            "messages": [message(None, "Rae Bobs")],
        },
    )

    assert counts(response) == (1, 0, 1, 0)
    assert Contact.objects.filter(owner=bob).count() == 1


def test_an_archived_contact_is_matched_and_stays_archived(alice, client):
    old = contact_create(
        owner=alice,
        full_name="Ari Archived",
        linkedin_profile_id="ari",
        priority_level="archived",
    )

    response = push(client, {"profiles": [profile("ari", headline="Back at Work")]})

    assert counts(response) == (0, 1, 0, 0)
    old.refresh_from_db()
    assert old.priority_level == "archived"


def test_when_two_contacts_share_a_profile_id_the_older_one_is_used(alice, client):
    older = contact_create(owner=alice, full_name="Dup Old", linkedin_profile_id="dup")
    contact_create(owner=alice, full_name="Dup New", linkedin_profile_id="dup")

    push(client, {"messages": [message("dup", content_hash="h")]})

    assert Interaction.objects.get(owner=alice).contact_id == older.pk


# --- within one push --------------------------------------------------------


def test_duplicate_messages_in_one_push_are_inserted_once(alice, client):
    # The original inserted both.
    same = message("tom-twice", "Tom Twice", content_hash="same-hash")

    response = push(client, {"messages": [same, dict(same), dict(same)]})

    assert counts(response) == (1, 0, 1, 2)
    assert Interaction.objects.filter(owner=alice).count() == 1


def test_messages_without_a_hash_dedup_on_conversation_and_timestamp(alice, client):
    body = {
        "messages": [
            message("uma", conversation_id="c1", timestamp="2024-05-01T10:00:00Z"),
            message("uma", conversation_id="c1", timestamp="2024-05-01T10:00:01Z"),
            message("uma", conversation_id="c2", timestamp="2024-05-01T10:00:00Z"),
        ]
    }

    push(client, body)

    assert sorted(
        Interaction.objects.filter(owner=alice).values_list(
            "raw_reference_id", flat=True
        )
    ) == [
        "linkedin:c1:2024-05-01T10:00:00Z",
        "linkedin:c1:2024-05-01T10:00:01Z",
        "linkedin:c2:2024-05-01T10:00:00Z",
    ]


def test_messages_of_a_profile_in_the_same_push_go_to_its_new_contact(alice, client):
    body = {
        "profiles": [profile("vera-new", "Vera New")],
        "messages": [
            message("vera-new", content_hash="1"),
            message(None, "Vera New", content_hash="2"),
        ],
    }

    response = push(client, body)

    assert counts(response) == (1, 0, 2, 0)
    vera = Contact.objects.get(owner=alice)
    assert set(Interaction.objects.values_list("contact_id", flat=True)) == {vera.pk}


def test_messages_of_one_unknown_sender_share_one_stub(alice, client):
    body = {
        "messages": [message(None, "Wyn Stub", content_hash=str(i)) for i in range(3)]
    }

    response = push(client, body)

    assert counts(response) == (1, 0, 3, 0)
    assert Contact.objects.get(owner=alice).interaction_count == 3


def test_a_stored_message_creates_no_stub(alice, client):
    existing = contact_create(
        owner=alice, full_name="Xia Stored", linkedin_profile_id="xia"
    )
    Interaction.objects.create(
        owner=alice,
        contact=existing,
        platform="linkedin",
        direction="inbound",
        raw_reference_id="linkedin:conv-9:h",
        occurred_at="2024-01-01T00:00:00Z",
    )

    response = push(
        client,
        {
            "messages": [
                message(
                    "someone-new",
                    "Someone New",
                    conversation_id="conv-9",
                    content_hash="h",
                )
            ]
        },
    )

    assert counts(response) == (0, 0, 0, 1)
    assert Contact.objects.filter(owner=alice).count() == 1


# --- the lookup itself ------------------------------------------------------


def test_the_lookup_returns_only_the_named_contacts(alice):
    wanted = [
        contact_create(
            owner=alice,
            full_name="Id Match",
            linkedin_profile_id="id-match",
            avatar_url="/a.png",
        ),
        contact_create(
            owner=alice,
            full_name="Url Match",
            linkedin_url="https://www.linkedin.com/in/url-match",
        ),
        contact_create(owner=alice, full_name="Name Match"),
    ]
    for i in range(30):
        contact_create(
            owner=alice,
            full_name=f"Filler {i}",
            avatar_url="/x.png",
            linkedin_profile_id=f"filler-{i}",
        )
    payload = push_payload_from_data(
        {
            "profiles": [
                profile("id-match"),
                {"profile_url": "linkedin.com/in/url-match"},
            ],
            "messages": [message(None, "name match")],
        }
    )

    rows = contacts_for_push(
        owner=alice,
        keys=push_keys(profiles=payload.profiles, messages=payload.messages),
        backfill_limit=10,
    ).contacts

    assert [row.pk for row in rows] == [c.pk for c in wanted]
    assert rows[0].linkedin_profile_id == "id-match"
    assert rows[1].linkedin_url_key == "https://www.linkedin.com/in/url-match"


def test_the_lookup_adds_at_most_the_limit_of_backfill_candidates(alice):
    for i in range(30):
        contact_create(
            owner=alice, full_name=f"Candidate {i}", linkedin_profile_id=f"cand-{i}"
        )

    rows = contacts_for_push(
        owner=alice, keys=push_keys(profiles=[], messages=[]), backfill_limit=12
    ).contacts

    assert len(rows) == 12


def test_backfill_candidates_a_key_names_do_not_count_against_the_limit(alice):
    named = [
        contact_create(
            owner=alice, full_name=f"Named {i}", linkedin_profile_id=f"named-{i}"
        )
        for i in range(5)
    ]
    for i in range(10):
        contact_create(
            owner=alice, full_name=f"Other {i}", linkedin_profile_id=f"other-{i}"
        )
    payload = push_payload_from_data(
        {"profiles": [profile(f"named-{i}") for i in range(5)]}
    )

    rows = contacts_for_push(
        owner=alice,
        keys=push_keys(profiles=payload.profiles, messages=payload.messages),
        backfill_limit=3,
    ).contacts

    # The five the push names, and three candidates it cannot touch.
    assert [row.pk for row in rows[:5]] == [c.pk for c in named]
    assert len(rows) == 8
    assert all(row.linkedin_profile_id.startswith("other-") for row in rows[5:])


def test_the_lookup_loads_the_two_oldest_contacts_of_a_sender_name(alice):
    shared = [contact_create(owner=alice, full_name="Sam Common") for _ in range(5)]
    lone = contact_create(owner=alice, full_name="Lou Lone")
    payload = push_payload_from_data(
        {"messages": [message(None, "sam common"), message(None, "Lou Lone")]}
    )

    rows = contacts_for_push(
        owner=alice,
        keys=push_keys(profiles=payload.profiles, messages=payload.messages),
        backfill_limit=10,
    ).contacts

    assert [row.pk for row in rows] == [shared[0].pk, shared[1].pk, lone.pk]


def test_a_name_shared_by_five_contacts_matches_none_of_them(alice, client):
    for _ in range(5):
        contact_create(owner=alice, full_name="Sam Common")

    response = push(client, {"messages": [message(None, "Sam Common")]})

    assert counts(response) == (0, 0, 0, 1)
    assert Contact.objects.filter(owner=alice).count() == 5


def test_a_non_ascii_name_is_found_as_spelled(alice, client):
    # SQLite's LOWER() leaves "É" alone, so "émile" is looked up as spelled.
    emile = contact_create(owner=alice, full_name="Émile Zola")

    response = push(client, {"messages": [message("ACoAAEmileUrn", "Émile  Zola")]})

    assert counts(response) == (0, 1, 1, 0)
    assert Interaction.objects.get(owner=alice).contact_id == emile.pk


def test_the_lookup_tells_which_message_keys_are_stored(alice):
    xia = contact_create(owner=alice, full_name="Xia Stored", linkedin_profile_id="xia")
    Interaction.objects.create(
        owner=alice,
        contact=xia,
        platform="linkedin",
        direction="inbound",
        raw_reference_id="linkedin:conv-1:stored",
        occurred_at="2024-01-01T00:00:00Z",
    )
    payload = push_payload_from_data(
        {
            "messages": [
                message("xia", "Xia Stored", conversation_id="conv-1", content_hash=h)
                for h in ("stored", "new")
            ]
        }
    )

    found = contacts_for_push(
        owner=alice,
        keys=push_keys(profiles=payload.profiles, messages=payload.messages),
    )

    assert found.stored_keys == {"linkedin:conv-1:stored"}
    assert [row.pk for row in found.contacts] == [xia.pk]


def test_a_loaded_contact_holds_its_row_and_model_defaults_elsewhere(alice):
    stored = contact_create(
        owner=alice,
        full_name="Dee Fault",
        linkedin_profile_id="dee",
        user_edited_fields=["title"],
    )
    payload = push_payload_from_data({"profiles": [profile("dee")]})

    first, again = (
        contacts_for_push(
            owner=alice,
            keys=push_keys(profiles=payload.profiles, messages=payload.messages),
        ).contacts[0]
        for _ in range(2)
    )

    assert (first.pk, first.owner_id, first.full_name, first.user_edited_fields) == (
        stored.pk,
        alice.pk,
        "Dee Fault",
        ["title"],
    )
    # Not loaded: what Contact() would hold, each list its own.
    assert (first.emails, first.tags, first.notes, first.interaction_count) == (
        [],
        [],
        None,
        0,
    )
    assert first.emails is not again.emails
