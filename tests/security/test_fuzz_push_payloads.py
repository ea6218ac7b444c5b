"""Property tests: any JSON pushed by the extension is applied or refused with a 400.

``linkedin.serializers.push_payload_from_data`` must turn any decoded JSON
into a PushPayload or a ValidationError whose keys name the item and field
("messages[3].timestamp"). Through the real endpoint, signed in, any body,
JSON or not, must answer 200 with counts or 400 with those keys; never a
5xx. Payloads are generated from hostile values: wrong types, oversized
strings and lists, extreme ISO times, URL spellings and image-like data.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import tempfile

import pytest
from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from contacts.authentication import web_token_for
from contacts.models import Contact, Interaction
from linkedin.profile_urls import normalise_profile_url
from linkedin.serializers import (
    MAX_MESSAGES,
    MAX_PROFILES,
    PushPayload,
    push_payload_from_data,
)

PUSH = "/api/v1/linkedin/push"
# body, profiles, messages[3], messages[3].timestamp
ERROR_PATH = re.compile(r"body|(profiles|messages)(\[(\d+)\](\.[a-z_]+)?)?")
RUNS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
COUNTS: dict[str, int] = {}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
moments = st.builds(
    lambda year, month, day, offset, sep: (
        f"{year:04d}-{month:02d}-{day:02d}{sep}12:00:00{offset}"
    ),
    year=st.one_of(st.sampled_from([1, 9999]), st.integers(1, 9999)),
    month=st.one_of(st.sampled_from([1, 12]), st.integers(1, 12)),
    day=st.one_of(st.sampled_from([1, 31]), st.integers(1, 28)),
    offset=st.sampled_from(["", "Z", "+00:00", "+14:00", "-12:00", "+23:59", "+24:00"]),
    sep=st.sampled_from(["T", " "]),
)
images = st.builds(
    lambda mime, magic, body, b64: (
        f"data:{mime};{'base64' if b64 else 'utf8'},"
        + base64.b64encode(magic + body).decode()
    ),
    st.sampled_from(
        ["image/png", "image/jpeg", "image/gif", "text/html", "IMAGE/WEBP"]
    ),
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"<svg", b""]),
    st.binary(max_size=40),
    st.booleans(),
)
profile_urls = st.one_of(
    st.from_regex(
        r"https://(www\.)?linkedin\.com/in/[a-zA-Z0-9%-]{1,30}/?", fullmatch=True
    ),
    st.sampled_from(
        [
            "https://www.linkedin.com/company/acme",
            "javascript:alert(1)",
            "https://linkedin.com.evil.example/in/x",
            "linkedin.com/in/" + "a" * 101,
        ]
    ),
)
texts = st.one_of(
    st.text(max_size=40),
    st.text(min_size=190, max_size=210),
    st.sampled_from(["", " ", "\x00", "ACoAAB" + "x" * 30, "%00", "\u200b"]),
)
values = st.one_of(json_scalars, json_values, texts, st.lists(texts, max_size=2))
profile_items = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "profile_id": st.one_of(texts, values),
            "profile_url": st.one_of(profile_urls, values),
            "full_name": st.one_of(texts, values),
            "headline": st.one_of(texts, st.just("CEO at " + "x" * 600)),
            "company": texts,
            "location": texts,
            "about": texts,
            "avatar_url": values,
            "avatar_data": st.one_of(images, values),
        },
    ),
    values,
)
message_items = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "profile_id": st.one_of(texts, values),
            "profile_name": st.one_of(texts, values),
            "direction": st.one_of(st.sampled_from(["inbound", "outbound"]), values),
            "content_preview": st.one_of(texts, st.text(min_size=500, max_size=600)),
            "timestamp": st.one_of(moments, values),
            "conversation_id": st.one_of(texts, values),
            "content_hash": st.one_of(texts, values),
        },
    ),
    values,
)
slugs = st.from_regex(r"[a-z0-9-]{3,20}", fullmatch=True)
good_moments = st.datetimes(
    min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)
).map(lambda moment: moment.isoformat() + "Z")
good_images = st.builds(
    lambda magic, body: (
        "data:image/png;base64," + base64.b64encode(magic + body).decode()
    ),
    st.sampled_from([b"\x89PNG\r\n\x1a\n", b"GIF89a"]),
    st.binary(max_size=40),
)
good_profiles = st.fixed_dictionaries(
    {"profile_id": slugs},
    optional={
        "full_name": texts,
        "headline": texts,
        "company": texts,
        "about": texts,
        "profile_url": profile_urls.filter(normalise_profile_url),
        "avatar_data": good_images,
    },
)
good_messages = st.fixed_dictionaries(
    {
        "direction": st.sampled_from(["inbound", "outbound"]),
        "timestamp": good_moments,
        "conversation_id": st.text(max_size=30),
    },
    optional={
        "profile_id": slugs,
        "profile_name": texts,
        "content_preview": texts,
        "content_hash": st.text(max_size=30),
    },
)
# Mostly valid pushes, so that matching and writing run too.
good_payloads = st.fixed_dictionaries(
    {
        "profiles": st.lists(good_profiles, max_size=4),
        "messages": st.lists(
            st.one_of(
                good_messages, good_messages.map(lambda m: {**m, "profile_id": "x"})
            ),
            max_size=4,
        ),
    }
)
payloads = st.one_of(
    good_payloads,
    st.fixed_dictionaries(
        {},
        optional={
            "profiles": st.one_of(
                st.lists(profile_items, max_size=4),
                values,
                st.just([{"profile_id": "p"}] * (MAX_PROFILES + 1)),
            ),
            "messages": st.one_of(
                st.lists(message_items, max_size=4),
                values,
                st.just([{}] * (MAX_MESSAGES + 1)),
            ),
            "extra": values,
        },
    ),
    json_values,
)


def _check_error_paths(detail, data) -> None:
    """Each error key is a path into ``data``: list name, item index, field."""
    assert isinstance(detail, dict) and detail, detail
    for path, messages in detail.items():
        match = ERROR_PATH.fullmatch(path)
        assert match, path
        assert messages and all(str(m) for m in messages), (path, messages)
        if match.group(3) is not None:
            items = data[match.group(1)]
            assert int(match.group(3)) < len(items), (path, data)


@RUNS
@given(payloads)
def test_any_decoded_json_is_a_payload_or_an_error_naming_item_and_field(data):
    COUNTS["validator"] = COUNTS.get("validator", 0) + 1
    try:
        payload = push_payload_from_data(data)
    except ValidationError as exc:
        _check_error_paths(exc.detail, data)
        return
    assert isinstance(payload, PushPayload)
    for message in payload.messages:
        assert message.direction in ("inbound", "outbound")
        assert message.occurred_at.tzinfo is not None
    for profile in payload.profiles:
        assert profile.profile_id or profile.url_key


@pytest.fixture
def client(alice):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {web_token_for(alice)}")
    return client


def _post(client, body: bytes, content_type: str = "application/json"):
    cache.clear()  # the push throttle would answer 429 after 120 examples
    return client.post(PUSH, body, content_type=content_type)


@pytest.mark.django_db
@RUNS
@given(payloads)
def test_the_push_endpoint_answers_any_json_with_counts_or_a_400(client, data):
    COUNTS["endpoint-json"] = COUNTS.get("endpoint-json", 0) + 1
    with tempfile.TemporaryDirectory() as media, override_settings(MEDIA_ROOT=media):
        response = _post(client, json.dumps(data).encode())

    assert response.status_code in (200, 400), response.content
    body = response.json()
    if response.status_code == 400:
        assert body["data"] is None
        assert "fields" in body["error"], (data, body)
        _check_error_paths(body["error"]["fields"], data)
    else:
        counts = body["data"]
        assert all(
            isinstance(counts[key], int) and counts[key] >= 0
            for key in ("contacts_created", "contacts_updated", "interactions_created")
        )


@pytest.mark.django_db
@settings(RUNS, max_examples=60)
@given(
    st.one_of(
        st.binary(max_size=200),
        st.text(max_size=100).map(str.encode),
        st.just(b'{"profiles": [' * 2000),
    ),
    st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded"]
    ),
)
def test_the_push_endpoint_answers_a_raw_body_with_a_4xx_or_an_empty_push(
    client, body, content_type
):
    COUNTS["endpoint-raw"] = COUNTS.get("endpoint-raw", 0) + 1

    response = _post(client, body, content_type)

    if response.status_code == 200:
        # An empty body, or a form without a profiles or messages list, is
        # an empty push (DRF reads both as {}).
        assert not body.strip() or content_type.endswith("urlencoded")
        assert response.json()["data"]["contacts_created"] == 0
    else:
        assert 400 <= response.status_code < 500, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("timestamp", "stored"),
    [
        ("0001-01-01T00:00:00+01:00", False),
        ("9999-12-31T23:59:59-01:00", False),
        ("0001-01-01T00:00:00", True),
        ("9999-12-31T23:59:59Z", True),
    ],
)
def test_a_message_at_the_calendars_ends_is_stored_or_refused_never_a_500(
    client, alice, timestamp, stored
):
    body = {
        "messages": [
            {
                "profile_id": "edge-of-time",
                "direction": "inbound",
                "timestamp": timestamp,
                "conversation_id": "c1",
            }
        ]
    }

    response = _post(client, json.dumps(body).encode())

    if stored:
        assert response.status_code == 200, response.content
        interaction = Interaction.objects.get(owner=alice)
        assert interaction.occurred_at == dt.datetime.fromisoformat(
            timestamp.replace("Z", "+00:00")
        ).replace(tzinfo=dt.UTC)
        assert Contact.objects.get(owner=alice).linkedin_profile_id == "edge-of-time"
    else:
        assert response.status_code == 400, response.content
        assert response.json()["error"]["fields"] == {
            "messages[0].timestamp": ["outside the years 1 to 9999 in UTC"]
        }
        assert not Interaction.objects.exists()


def test_it_reports_how_many_examples_ran():
    # Runs last in this file (pytest keeps file order, as does --dist loadfile).
    print(f"\npush payload examples: {COUNTS}")
