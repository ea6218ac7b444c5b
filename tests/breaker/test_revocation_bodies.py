"""Break the revoke calls with odd provider replies (``responses`` only, no network)."""

from __future__ import annotations

import pytest
import responses

from syncjobs.revocation import (
    GOOGLE_REVOKE_URI,
    TWITTER_REVOKE_URL,
    Revocation,
    google_grant_revoke,
    twitter_grant_revoke,
)


@pytest.fixture
def x_app(settings):
    settings.TWITTER_CLIENT_ID = "x-client-id"
    settings.TWITTER_CLIENT_SECRET = "x-client-secret"


@responses.activate
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe not utf-8",
        b"null",
        b"[1, 2]",
        b'{"error": {"code": 400}}',
        b'{"error": null, "error_description": 7}',
        b"<html>Bad gateway</html>",
    ],
)
def test_google_odd_bodies_are_reported_not_raised(body):
    responses.post(GOOGLE_REVOKE_URI, status=502, body=body)

    outcome = google_grant_revoke(token="1//refresh")

    assert outcome == Revocation(False, "Google answered HTTP 502")


@responses.activate
def test_a_deeply_nested_google_reply_is_reported_not_raised():
    responses.post(GOOGLE_REVOKE_URI, status=400, body="[" * 200_000)

    outcome = google_grant_revoke(token="1//refresh")

    assert outcome == Revocation(False, "Google answered HTTP 400")


@responses.activate
def test_x_saying_not_revoked_is_not_revoked(x_app):
    responses.post(TWITTER_REVOKE_URL, status=200, json={"revoked": False})

    outcome = twitter_grant_revoke(access_token="a", refresh_token="r")

    assert outcome.revoked is False


@responses.activate
def test_x_400_about_something_else_is_not_revoked(x_app):
    responses.post(
        TWITTER_REVOKE_URL,
        status=400,
        json={"error": "invalid_request", "error_description": "Missing client_id"},
    )

    outcome = twitter_grant_revoke(access_token="a", refresh_token="r")

    assert outcome.revoked is False
