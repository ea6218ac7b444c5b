"""A malformed or oversized push is a 400 naming the item and field, and writes nothing."""

from __future__ import annotations

import base64
import json

import pytest

from contacts.models import Contact, Interaction
from linkedin.avatars import MAX_AVATAR_BYTES
from linkedin.serializers import push_payload_from_data
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


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def client(alice):
    return token_client(alice)


def rejected(response) -> str:
    """Return the error message of a 400 and check its envelope."""
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["data"] is None
    assert body["detail"] == body["error"]["message"]
    return body["error"]["message"]


def assert_nothing_written(owner) -> None:
    assert Contact.objects.filter(owner=owner).count() == 0
    assert Interaction.objects.filter(owner=owner).count() == 0
    assert SyncRun.objects.filter(owner=owner).count() == 0


def valid_profile() -> dict:
    return profile("valid-person", "Valid Person", headline="CEO at Valid")


def test_fifty_profiles_and_five_hundred_messages_are_accepted(alice, client):
    body = {
        "profiles": [profile(f"p-{i}", f"Person {i}") for i in range(50)],
        "messages": [message("p-0", content_hash=f"h{i}") for i in range(500)],
    }

    response = push(client, body)

    assert response.status_code == 200
    assert response.json()["data"]["contacts_created"] == 50
    assert response.json()["data"]["interactions_created"] == 500


def test_it_rejects_more_than_fifty_profiles(alice, client):
    body = {"profiles": [profile(f"p-{i}", f"Person {i}") for i in range(51)]}

    assert rejected(push(client, body)) == "profiles: at most 50 items, got 51"
    assert_nothing_written(alice)


def test_it_rejects_more_than_five_hundred_messages(alice, client):
    body = {
        "profiles": [valid_profile()],
        "messages": [message("x", content_hash=f"h{i}") for i in range(501)],
    }

    assert rejected(push(client, body)) == "messages: at most 500 items, got 501"
    assert_nothing_written(alice)


def test_it_rejects_a_profile_with_neither_id_nor_url(alice, client):
    body = {
        "profiles": [valid_profile(), {"full_name": "Nobody Known", "profile_url": ""}]
    }

    assert (
        rejected(push(client, body))
        == "profiles[1].profile_id: a profile needs profile_id or profile_url"
    )
    assert_nothing_written(alice)


def test_it_rejects_a_message_with_no_profile_id_and_no_name(alice, client):
    body = {
        "profiles": [valid_profile()],
        "messages": [message("valid-person"), message(None, ""), message("", None)],
    }

    response = push(client, body)

    assert (
        rejected(response)
        == "messages[1].profile_id: required when profile_name is empty"
    )
    assert response.json()["error"]["fields"] == {
        "messages[1].profile_id": ["required when profile_name is empty"],
        "messages[2].profile_id": ["required when profile_name is empty"],
    }
    assert_nothing_written(alice)


def test_a_message_with_a_null_profile_id_but_a_name_is_accepted(alice, client):
    # The original answered 422 to the whole push (the extension sends null
    # when LinkedIn gives no public identifier).
    response = push(client, {"messages": [message(None, "Nameonly Sender")]})

    assert response.status_code == 200
    stub = Contact.objects.get(owner=alice)
    assert (stub.full_name, stub.linkedin_profile_id, stub.linkedin_url) == (
        "Nameonly Sender",
        None,
        None,
    )


def test_it_rejects_a_timestamp_that_is_not_iso_8601(alice, client):
    body = {
        "messages": [
            message("a"),
            message("b"),
            message("c"),
            message("d", timestamp="yesterday at 5"),
        ]
    }

    assert rejected(push(client, body)) == "messages[3].timestamp: not an ISO-8601 time"
    assert_nothing_written(alice)


@pytest.mark.parametrize("timestamp", ["1714557600000", "", "2024-13-01T10:00:00Z"])
def test_it_rejects_epoch_numbers_empty_and_impossible_timestamps(
    alice, client, timestamp
):
    message_ = rejected(push(client, {"messages": [message("a", timestamp=timestamp)]}))

    assert message_.startswith("messages[0].timestamp: ")
    assert_nothing_written(alice)


def test_it_rejects_a_direction_other_than_inbound_or_outbound(alice, client):
    # The original stored anything else as inbound.
    body = {"messages": [message("a", direction="sideways")]}

    assert (
        rejected(push(client, body))
        == "messages[0].direction: must be inbound or outbound, got 'sideways'"
    )
    assert_nothing_written(alice)


def test_it_rejects_a_message_without_a_conversation_id(alice, client):
    body = {"messages": [message("a")]}
    del body["messages"][0]["conversation_id"]

    assert rejected(push(client, body)) == "messages[0].conversation_id: required"


def test_it_rejects_a_profile_id_longer_than_its_column(alice, client):
    body = {"profiles": [profile("x" * 201, "Too Long")]}

    assert (
        rejected(push(client, body))
        == "profiles[0].profile_id: longer than 200 characters"
    )


@pytest.mark.parametrize(
    ("avatar_data", "reason"),
    [
        ("https://media.licdn.com/a.jpg", "not a data: URI"),
        (
            data_uri(b"<svg/>", "image/svg+xml"),
            "image/svg+xml is not image/png, image/jpeg, image/gif or image/webp",
        ),
        (
            data_uri(b"plain text", "text/plain"),
            "text/plain is not image/png, image/jpeg, image/gif or image/webp",
        ),
        ("data:image/png," + "%89PNG", "not base64-encoded"),
        ("data:image/png;base64,@@not base64@@", "not valid base64"),
        (
            data_uri(b"MZ\x90\x00 an executable", "image/png"),
            "the data is not a PNG, JPEG, GIF or WebP image",
        ),
    ],
)
def test_it_rejects_an_avatar_that_is_not_a_base64_image(
    alice, client, avatar_data, reason
):
    body = {
        "profiles": [
            valid_profile(),
            profile("bad-avatar", "Bad Avatar", avatar_data=avatar_data),
        ]
    }

    assert rejected(push(client, body)) == f"profiles[1].avatar_data: {reason}"
    assert_nothing_written(alice)


def test_it_rejects_an_avatar_over_five_million_bytes(alice, client, media_root):
    too_big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_AVATAR_BYTES - 7)
    body = {
        "profiles": [
            profile(
                "big-avatar", "Big Avatar", avatar_data=data_uri(too_big, "image/png")
            )
        ]
    }

    assert (
        rejected(push(client, body))
        == "profiles[0].avatar_data: larger than 5000000 bytes"
    )
    assert_nothing_written(alice)
    assert not (media_root / "avatars").exists()


def test_an_avatar_of_exactly_five_million_bytes_is_accepted(alice, client):
    just_fits = b"\x89PNG\r\n\x1a\n" + b"\x00" * (MAX_AVATAR_BYTES - 8)
    body = {
        "profiles": [
            profile("fits", "Fits", avatar_data=data_uri(just_fits, "image/png"))
        ]
    }

    assert push(client, body).status_code == 200


@pytest.mark.parametrize(
    ("image_format", "mime"),
    [
        ("PNG", "image/png"),
        ("JPEG", "image/jpeg"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
    ],
)
def test_it_accepts_each_allowed_image_format(alice, client, image_format, mime):
    content = image_bytes(image_format)
    # A line-wrapped body, as some encoders write it.
    encoded = base64.encodebytes(content).decode()
    body = {
        "profiles": [profile("fmt", "Fmt", avatar_data=f"data:{mime};base64,{encoded}")]
    }

    assert push(client, body).status_code == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "body: must be a JSON object, got list"),
        ({"profiles": "alice"}, "profiles: must be a list, got str"),
        ({"profiles": ["alice"]}, "profiles[0]: must be an object, got str"),
        (
            {"messages": [message("a", timestamp=12)]},
            "messages[0].timestamp: not an ISO-8601 time",
        ),
    ],
)
def test_it_rejects_a_body_of_the_wrong_shape(alice, client, body, reason):
    assert rejected(push(client, body)) == reason
    assert_nothing_written(alice)


def test_a_company_page_without_a_profile_id_is_rejected(alice, client):
    body = {
        "profiles": [
            {
                "full_name": "Jane Doe",
                "profile_url": "https://www.linkedin.com/company/jane-doe-123",
            }
        ]
    }

    assert (
        rejected(push(client, body))
        == "profiles[0].profile_url: not a LinkedIn person-profile URL"
    )
    assert_nothing_written(alice)


def test_malformed_json_is_a_400(alice, client):
    response = client.post(
        "/api/v1/linkedin/push", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert_nothing_written(alice)


# --- strings: the shortcut for plain ones agrees with DRF's full path ------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("profile_id", "a\x00b", "Null characters are not allowed."),
        ("profile_name", "Sam \ud800", "Surrogate characters are not allowed: U+D800."),
        ("conversation_id", True, "must be a string"),
        ("content_hash", ["h"], "must be a string"),
        ("direction", "   ", "may not be empty"),
        ("timestamp", None, "may not be null"),
        ("profile_id", " " + "x" * 201, "longer than 200 characters"),
    ],
)
def test_it_rejects_a_string_field_that_is_not_plain_text(
    alice, client, field, value, reason
):
    item = message("a", "Sam")
    item[field] = value
    # Sent as ASCII JSON: a lone surrogate only travels as a \u escape.
    body = json.dumps({"messages": [item]})

    response = client.post(PUSH_URL, body, content_type="application/json")

    assert rejected(response) == f"messages[0].{field}: {reason}"
    assert_nothing_written(alice)


def test_strings_are_trimmed_and_numbers_taken_as_text():
    payload = push_payload_from_data(
        {
            "messages": [
                message(
                    "  " + "x" * 200 + " ",
                    3.5,
                    direction=" inbound ",
                    conversation_id=7,
                    content_hash=" h1 ",
                    timestamp=" 2024-05-01T10:00:00Z ",
                )
            ]
        }
    )

    (item,) = payload.messages
    assert (
        item.profile_id,
        item.profile_name,
        item.direction,
        item.conversation_id,
        item.content_hash,
        item.timestamp,
    ) == ("x" * 200, "3.5", "inbound", "7", "h1", "2024-05-01T10:00:00Z")
