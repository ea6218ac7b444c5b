"""POST /api/v1/linkedin/push: the original's push cases (spec §7.4) and ours."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
import responses
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from contacts.models import Contact, FollowUpSuggestion, Interaction
from contacts.services import contact_create, contact_update
from syncjobs.models import SyncRun
from tests.linkedin.push_helpers import (
    PUSH_URL,
    data_uri,
    image_bytes,
    message,
    profile,
    push,
    token_client,
)

UTC = dt.UTC


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def client(alice) -> APIClient:
    return token_client(alice)


def data(response) -> dict:
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def counts(response) -> tuple[int, int, int, int]:
    body = data(response)
    return (
        body["contacts_created"],
        body["contacts_updated"],
        body["interactions_created"],
        body["interactions_skipped"],
    )


# --- spec §7.4, the original's test_linkedin_api.py -----------------------


def test_it_requires_authentication(db):
    response = APIClient().post(PUSH_URL, {}, format="json")

    assert response.status_code == 401
    assert SyncRun.objects.count() == 0


def test_it_creates_a_contact_from_a_new_profile(alice, client):
    body = {
        "profiles": [
            profile(
                "alice-smith-123",
                "Alice Smith",
                headline="Product Manager at Acme",
                company="Acme",
            )
        ]
    }

    response = push(client, body)

    assert counts(response) == (1, 0, 0, 0)
    contact = Contact.objects.get(owner=alice)
    assert contact.full_name == "Alice Smith"
    assert contact.company == "Acme"
    assert contact.linkedin_profile_id == "alice-smith-123"
    assert contact.linkedin_url == "https://www.linkedin.com/in/alice-smith-123"
    assert contact.linkedin_url_key == "https://www.linkedin.com/in/alice-smith-123"
    assert contact.linkedin_headline == "Product Manager at Acme"


def test_it_gives_a_new_contact_a_title_from_the_headline_and_source_linkedin(
    alice, client
):
    # The original parsed the title only when updating and left source NULL.
    push(
        client,
        {
            "profiles": [
                profile(
                    "alice-smith-123", "Alice Smith", headline="Product Manager at Acme"
                )
            ]
        },
    )

    contact = Contact.objects.get(owner=alice)
    assert contact.title == "Product Manager"
    assert contact.source == "linkedin"


def test_it_updates_a_contact_found_by_profile_id(alice, client):
    bob = contact_create(
        owner=alice, full_name="Bob Jones", linkedin_profile_id="bob-jones-456"
    )
    body = {
        "profiles": [
            profile(
                "bob-jones-456",
                "Bob Jones",
                headline="Engineer at StartupCo",
                company="StartupCo",
            )
        ]
    }

    response = push(client, body)

    assert counts(response) == (0, 1, 0, 0)
    bob.refresh_from_db()
    assert bob.linkedin_headline == "Engineer at StartupCo"
    assert bob.company == "StartupCo"
    assert bob.title == "Engineer"
    assert Contact.objects.filter(owner=alice).count() == 1


def test_a_message_from_an_unknown_sender_creates_a_stub_and_an_interaction(
    alice, client
):
    body = {
        "messages": [
            message(
                "carol-white-789",
                "Carol White",
                content_hash="hash-abc123",
                conversation_id="conv-001",
                content_preview="Great to meet you at the summit",
            )
        ]
    }

    response = push(client, body)

    assert counts(response) == (1, 0, 1, 0)
    carol = Contact.objects.get(owner=alice)
    assert (carol.full_name, carol.given_name, carol.family_name) == (
        "Carol White",
        "Carol",
        "White",
    )
    assert carol.linkedin_profile_id == "carol-white-789"
    assert carol.linkedin_url == "https://www.linkedin.com/in/carol-white-789"
    assert carol.source == "linkedin"
    row = Interaction.objects.get(owner=alice)
    assert row.raw_reference_id == "linkedin:conv-001:hash-abc123"
    assert row.platform == "linkedin"
    assert row.direction == "inbound"
    assert row.content_preview == "Great to meet you at the summit"
    assert row.occurred_at == dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert row.contact_id == carol.pk


def test_the_same_message_pushed_twice_is_stored_once(alice, client):
    body = {
        "messages": [
            message("carol-white-789", "Carol White", content_hash="hash-abc123")
        ]
    }

    first = push(client, body)
    second = push(client, body)

    assert counts(first) == (1, 0, 1, 0)
    assert counts(second) == (0, 0, 0, 1)
    assert Interaction.objects.filter(owner=alice).count() == 1


def test_an_empty_body_is_valid_and_changes_nothing(alice, client):
    response = push(client, {})

    assert data(response) == {
        "contacts_created": 0,
        "contacts_updated": 0,
        "interactions_created": 0,
        "interactions_skipped": 0,
        "backfill_needed": [],
    }
    assert response.json()["error"] is None
    assert response.json()["meta"] is None


def test_it_matches_a_contact_by_url_and_gives_it_the_profile_id(alice, client):
    eve = contact_create(
        owner=alice,
        full_name="Eve Adams",
        linkedin_url="https://www.linkedin.com/in/eve-adams",
    )

    response = push(
        client, {"profiles": [profile("eve-adams", "Eve Adams", headline="Designer")]}
    )

    assert counts(response) == (0, 1, 0, 0)
    eve.refresh_from_db()
    assert eve.linkedin_profile_id == "eve-adams"
    assert eve.linkedin_headline == "Designer"
    assert eve.title == "Designer"


def test_it_saves_a_base64_avatar_under_media_root(alice, client, media_root):
    jpeg = image_bytes("JPEG")
    body = {
        "profiles": [
            profile(
                "dan-avatar", "Dan Avatar", avatar_data=data_uri(jpeg, "image/jpeg")
            )
        ]
    }

    response = push(client, body)

    assert counts(response) == (1, 0, 0, 0)
    dan = Contact.objects.get(owner=alice)
    assert dan.avatar_url == f"/media/avatars/{dan.pk}.jpg"
    assert (media_root / "avatars" / f"{dan.pk}.jpg").read_bytes() == jpeg


def test_an_incomplete_new_contact_is_listed_for_backfill(alice, client):
    response = push(client, {"profiles": [profile("gina-gap", "Gina Gap")]})

    gina = Contact.objects.get(owner=alice)
    assert data(response)["backfill_needed"] == [
        {
            "contact_id": str(gina.pk),
            "linkedin_profile_id": "gina-gap",
            "linkedin_url": "https://www.linkedin.com/in/gina-gap",
        }
    ]


def test_a_complete_contact_is_not_listed_for_backfill(alice, client, media_root):
    contact_create(
        owner=alice,
        full_name="Hank Whole",
        title="CTO",
        company="Wholeco",
        avatar_url="/media/avatars/hank.png",
        linkedin_profile_id="hank-whole",
    )

    response = push(
        client,
        {"profiles": [profile("hank-whole", "Hank Whole", headline="CTO at Wholeco")]},
    )

    assert counts(response) == (0, 1, 0, 0)
    assert data(response)["backfill_needed"] == []


def test_an_expiring_linkedin_avatar_link_is_cleared_without_fetching_it(alice, client):
    ivy = contact_create(
        owner=alice,
        full_name="Ivy Broken",
        linkedin_profile_id="ivy-broken",
        avatar_url="https://media.licdn.com/broken/image.jpg",
    )

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        response = push(
            client,
            {
                "profiles": [
                    profile(
                        "ivy-broken",
                        "Ivy Broken",
                        avatar_url="https://media.licdn.com/dms/image/ivy.jpg",
                    )
                ]
            },
        )

    assert len(mocked.calls) == 0
    assert counts(response) == (0, 1, 0, 0)
    ivy.refresh_from_db()
    assert ivy.avatar_url is None
    # Listed, so the extension sends the picture itself next time.
    assert [item["contact_id"] for item in data(response)["backfill_needed"]] == [
        str(ivy.pk)
    ]


def test_a_new_contact_missing_only_an_avatar_is_listed_for_backfill(alice, client):
    body = {
        "profiles": [
            profile(
                "jay-noavatar",
                "Jay Noavatar",
                headline="Chef at Bistro",
                company="Bistro",
            )
        ]
    }

    response = push(client, body)

    assert [
        item["linkedin_profile_id"] for item in data(response)["backfill_needed"]
    ] == ["jay-noavatar"]


def test_new_contacts_get_given_and_family_names_split_from_the_full_name(
    alice, client
):
    body = {
        "profiles": [profile("alice-w", "Alice Wonderland"), profile("cher", "Cher")]
    }

    push(client, body)

    names = {
        c.full_name: (c.given_name, c.family_name)
        for c in Contact.objects.filter(owner=alice)
    }
    assert names == {
        "Alice Wonderland": ("Alice", "Wonderland"),
        "Cher": ("Cher", None),
    }


def test_a_message_with_a_member_urn_matches_the_only_contact_of_that_name(
    alice, client
):
    frank = contact_create(owner=alice, full_name="Frank Castle")

    response = push(client, {"messages": [message("ACoAABcDEfGhIjKl", "Frank Castle")]})

    # contacts_updated counts every existing contact the push changed (here:
    # the id it learnt); the original counted profile items, changed or not.
    assert counts(response) == (0, 1, 1, 0)
    frank.refresh_from_db()
    assert frank.linkedin_profile_id == "ACoAABcDEfGhIjKl"
    assert Interaction.objects.get(owner=alice).contact_id == frank.pk


# --- what we do differently, and the rest of the endpoint -----------------


def test_it_keeps_a_headline_the_user_edited(alice, client):
    # The original overwrote it although linkedin_headline is protectable.
    kim = contact_create(
        owner=alice, full_name="Kim Edit", linkedin_profile_id="kim-edit"
    )
    contact_update(contact=kim, data={"linkedin_headline": "My own words"})

    response = push(
        client,
        {
            "profiles": [
                profile(
                    "kim-edit", "Kim Edit", headline="Sales at Bigco", company="Bigco"
                )
            ]
        },
    )

    assert counts(response) == (0, 1, 0, 0)
    kim.refresh_from_db()
    assert kim.linkedin_headline == "My own words"
    assert kim.company == "Bigco"
    assert kim.title == "Sales"


def test_it_refreshes_a_headline_the_user_never_edited(alice, client):
    lee = contact_create(
        owner=alice,
        full_name="Lee Move",
        linkedin_profile_id="lee-move",
        linkedin_headline="Intern at Old",
    )

    push(
        client,
        {"profiles": [profile("lee-move", "Lee Move", headline="Engineer at New")]},
    )

    lee.refresh_from_db()
    assert lee.linkedin_headline == "Engineer at New"


def test_it_fills_only_blank_fields_and_never_user_edited_ones(alice, client):
    mia = contact_create(
        owner=alice,
        full_name="Mia Known",
        linkedin_profile_id="mia-known",
        company="Own Co",
    )
    contact_update(contact=mia, data={"location": ""})

    push(
        client,
        {
            "profiles": [
                profile(
                    "mia-known",
                    "Mia Renamed",
                    company="Pushed Co",
                    location="Berlin",
                    about="Bio",
                )
            ]
        },
    )

    mia.refresh_from_db()
    assert mia.full_name == "Mia Known"
    assert mia.company == "Own Co"
    assert mia.location == ""
    assert mia.linkedin_bio == "Bio"


def test_a_repush_creates_nothing_and_updates_nothing(alice, client):
    body = {
        "profiles": [
            profile(
                "nora-again", "Nora Again", headline="Chef at Bistro", company="Bistro"
            )
        ],
        "messages": [message("nora-again", "Nora Again", content_hash="h1")],
    }

    first = push(client, body)
    second = push(client, body)

    assert counts(first) == (1, 0, 1, 0)
    assert counts(second) == (0, 0, 0, 1)
    assert Contact.objects.filter(owner=alice).count() == 1


def test_two_users_pushing_the_same_profile_each_get_their_own_contact(alice, bob):
    body = {
        "profiles": [profile("shared-person", "Shared Person")],
        "messages": [message("shared-person", "Shared Person", content_hash="h1")],
    }

    alice_response = push(token_client(alice), body)
    bob_response = push(token_client(bob), body)

    assert counts(alice_response) == (1, 0, 1, 0)
    assert counts(bob_response) == (1, 0, 1, 0)
    alice_contact = Contact.objects.get(owner=alice)
    bob_contact = Contact.objects.get(owner=bob)
    assert alice_contact.pk != bob_contact.pk
    assert Interaction.objects.get(owner=bob).contact_id == bob_contact.pk


def test_a_naive_timestamp_is_read_as_utc(alice, client):
    # The original crashed with a 500 when the contact had an aware time.
    olga = contact_create(
        owner=alice, full_name="Olga Naive", linkedin_profile_id="olga-naive"
    )
    Interaction.objects.create(
        owner=alice,
        contact=olga,
        platform="email",
        direction="inbound",
        raw_reference_id="older",
        occurred_at=dt.datetime(2024, 1, 1, tzinfo=UTC),
    )

    response = push(
        client, {"messages": [message("olga-naive", timestamp="2024-06-01T08:30:00")]}
    )

    assert counts(response) == (0, 0, 1, 0)
    assert Interaction.objects.get(platform="linkedin").occurred_at == dt.datetime(
        2024, 6, 1, 8, 30, tzinfo=UTC
    )
    olga.refresh_from_db()
    assert olga.last_interaction_at == dt.datetime(2024, 6, 1, 8, 30, tzinfo=UTC)


def test_new_interactions_set_count_last_interaction_and_score(alice, client):
    pat = contact_create(
        owner=alice, full_name="Pat Score", linkedin_profile_id="pat-score"
    )
    now = dt.datetime.now(UTC)
    body = {
        "messages": [
            message(
                "pat-score",
                timestamp=(now - dt.timedelta(days=3)).isoformat(),
                content_hash="a",
            ),
            message(
                "pat-score",
                timestamp=(now - dt.timedelta(days=2)).isoformat(),
                direction="outbound",
                content_hash="b",
            ),
        ]
    }

    push(client, body)

    pat.refresh_from_db()
    assert pat.interaction_count == 2
    assert pat.last_interaction_at == dt.datetime.fromisoformat(
        body["messages"][1]["timestamp"]
    )
    # Reciprocity 4 (1 in, 1 out) + recency 3 (inbound 3 days ago).
    assert pat.relationship_score == 7


def test_new_activity_dismisses_pending_follow_up_suggestions(alice, client):
    quinn = contact_create(
        owner=alice, full_name="Quinn Follow", linkedin_profile_id="quinn-follow"
    )
    other = contact_create(owner=alice, full_name="Other Person")
    pending = FollowUpSuggestion.objects.create(
        owner=alice, contact=quinn, reason="quiet"
    )
    untouched = FollowUpSuggestion.objects.create(
        owner=alice, contact=other, reason="quiet"
    )
    later = (dt.datetime.now(UTC) + dt.timedelta(minutes=1)).isoformat()

    push(
        client,
        {"messages": [message("quinn-follow", timestamp=later, content_hash="x")]},
    )

    pending.refresh_from_db()
    untouched.refresh_from_db()
    assert pending.status == "dismissed"
    assert untouched.status == "pending"


def test_every_push_writes_a_webhook_sync_run_even_when_nothing_changed(alice, client):
    body = {
        "profiles": [profile("rita-run", "Rita Run")],
        "messages": [
            message("rita-run", content_hash="m1"),
            message("rita-run", content_hash="m2"),
        ],
    }

    push(client, body)
    push(client, body)

    first, second = SyncRun.objects.filter(owner=alice).order_by("started_at")
    assert (first.platform, first.sync_type, first.status) == (
        "linkedin",
        "webhook",
        "success",
    )
    assert (
        first.records_fetched,
        first.records_created,
        first.records_updated,
        first.records_skipped,
    ) == (3, 3, 0, 0)
    assert (
        second.records_fetched,
        second.records_created,
        second.records_updated,
        second.records_skipped,
    ) == (3, 0, 0, 2)
    assert first.details == {
        "profiles": 1,
        "messages": 2,
        "contacts_created": 1,
        "contacts_updated": 0,
        "interactions_created": 2,
        "interactions_skipped": 0,
    }
    assert first.query_count > 0
    assert second.completed_at is not None


def test_the_server_never_opens_a_network_connection(alice, client, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the push tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    body = {
        "profiles": [
            profile(
                "sam-remote",
                "Sam Remote",
                avatar_url="https://media.licdn.com/dms/image/C4E03AQ/profile.jpg",
            ),
            profile(
                "tess-remote", "Tess Remote", avatar_url="http://127.0.0.1:9/avatar.png"
            ),
        ]
    }

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        response = push(client, body)

    assert counts(response) == (2, 0, 0, 0)
    assert len(mocked.calls) == 0
    assert set(
        Contact.objects.filter(owner=alice).values_list("avatar_url", flat=True)
    ) == {None}


def test_a_pushed_avatar_replaces_the_old_one_in_another_format(
    alice, client, media_root
):
    una = contact_create(
        owner=alice, full_name="Una Swap", linkedin_profile_id="una-swap"
    )
    push(
        client,
        {
            "profiles": [
                profile(
                    "una-swap", avatar_data=data_uri(image_bytes("JPEG"), "image/jpeg")
                )
            ]
        },
    )
    png = image_bytes("PNG")

    response = push(
        client,
        {"profiles": [profile("una-swap", avatar_data=data_uri(png, "image/png"))]},
    )

    assert counts(response) == (0, 1, 0, 0)
    una.refresh_from_db()
    assert una.avatar_url == f"/media/avatars/{una.pk}.png"
    assert sorted(p.name for p in (media_root / "avatars").iterdir()) == [
        f"{una.pk}.png"
    ]


def test_an_avatar_is_named_after_its_bytes_not_its_declared_type(
    alice, client, media_root
):
    body = {
        "profiles": [
            profile(
                "vic-label",
                "Vic Label",
                avatar_data=data_uri(image_bytes("WEBP"), "image/jpeg"),
            )
        ]
    }

    push(client, body)

    vic = Contact.objects.get(owner=alice)
    assert vic.avatar_url == f"/media/avatars/{vic.pk}.webp"


def test_a_contact_without_a_remote_linkedin_avatar_keeps_its_other_avatar(
    alice, client
):
    wes = contact_create(
        owner=alice,
        full_name="Wes Google",
        linkedin_profile_id="wes-google",
        avatar_url="https://lh3.googleusercontent.com/a/photo.jpg",
    )

    push(client, {"profiles": [profile("wes-google", "Wes Google")]})

    wes.refresh_from_db()
    assert wes.avatar_url == "https://lh3.googleusercontent.com/a/photo.jpg"


def test_the_backfill_list_is_capped_at_ten_even_for_touched_contacts(alice, client):
    # The original's first part (touched contacts) had no cap.
    body = {"profiles": [profile(f"person-{i:02}", f"Person {i}") for i in range(15)]}

    response = push(client, body)

    assert [
        item["linkedin_profile_id"] for item in data(response)["backfill_needed"]
    ] == [f"person-{i:02}" for i in range(10)]


def test_the_backfill_list_adds_other_contacts_without_an_avatar(alice, client):
    for i in range(3):
        contact_create(
            owner=alice, full_name=f"Old {i}", linkedin_profile_id=f"old-{i}"
        )
    contact_create(
        owner=alice,
        full_name="Has Avatar",
        linkedin_profile_id="has-avatar",
        avatar_url="/media/a.png",
    )
    contact_create(owner=alice, full_name="No LinkedIn")
    contact_create(
        owner=alice, full_name="Urn Only", linkedin_profile_id="ACoAAUrnOnly"
    )

    response = push(client, {"profiles": [profile("new-one", "New One")]})

    listed = [item["linkedin_profile_id"] for item in data(response)["backfill_needed"]]
    assert listed[0] == "new-one"
    assert sorted(listed[1:]) == ["old-0", "old-1", "old-2"]


def test_the_push_is_throttled_in_its_own_scope(alice, client, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"push": "2/min"})

    statuses = [push(client, {}).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    cache.clear()


def test_the_web_app_can_push_with_its_session(alice):
    client = APIClient(enforce_csrf_checks=False)
    client.login(username="alice@example.com", password="alice-pass-1")

    response = push(client, {"profiles": [profile("web-push", "Web Push")]})

    assert counts(response) == (1, 0, 0, 0)


def test_writing_a_changed_contact_leaves_every_other_column_alone(alice, client):
    # Changed contacts are written with an upsert of the changed columns;
    # nothing else of the row may move.
    yan = contact_create(
        owner=alice,
        full_name="Yan Full",
        emails=["yan@example.com"],
        phones=["+49 30 1234"],
        tags=["friend"],
        notes="met in Lisbon",
        birthday=dt.date(1990, 4, 2),
        linkedin_profile_id="yan-full",
        linkedin_headline="Keeps this",
        relationship_score=6,
        interaction_count=3,
        priority_level="high",
    )
    zoe = contact_create(
        owner=alice,
        full_name="Zoe Url",
        linkedin_url="https://www.linkedin.com/in/zoe-url",
    )
    body = {
        "profiles": [profile("yan-full", company="Newco", location="Porto")],
        "messages": [message("zoe-url", "Zoe Url", content_hash="z")],
    }

    response = push(client, body)

    assert counts(response) == (0, 2, 1, 0)
    yan.refresh_from_db()
    assert (yan.emails, yan.phones, yan.tags, yan.notes) == (
        ["yan@example.com"],
        ["+49 30 1234"],
        ["friend"],
        "met in Lisbon",
    )
    assert (
        yan.birthday,
        yan.relationship_score,
        yan.interaction_count,
        yan.priority_level,
    ) == (
        dt.date(1990, 4, 2),
        6,
        3,
        "high",
    )
    assert (yan.company, yan.location, yan.linkedin_headline) == (
        "Newco",
        "Porto",
        "Keeps this",
    )
    assert yan.linkedin_profile_id == "yan-full"
    zoe.refresh_from_db()
    assert (zoe.linkedin_profile_id, zoe.company, zoe.location) == (
        "zoe-url",
        None,
        None,
    )
    assert zoe.created_at < zoe.updated_at
    assert yan.email_addresses.get().address == "yan@example.com"
