"""A new user goes from registering to a finished Gmail sync, all over HTTP.

register -> login -> upload a vCard of two people -> connect Google (token
endpoint mocked with ``responses``) -> POST /contacts/sync/gmail, whose
Celery task runs eagerly once the request commits, against recorded Gmail
replies (googleapiclient's HttpMockSequence, handed to the client library
by replacing httplib2.Http) -> /sync-history shows the run and its counts.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import urlparse

import jwt
import pytest
import responses
from django.core.files.uploadedfile import SimpleUploadedFile
from googleapiclient.http import HttpMockSequence
from rest_framework.test import APIClient

from contacts.models import Interaction
from syncjobs.providers import google_client
from syncjobs.providers.google_client import TOKEN_URI

pytestmark = pytest.mark.django_db

RECORDED = Path(__file__).resolve().parent.parent / "syncjobs" / "recorded" / "gmail"
JSON = "application/json; charset=UTF-8"
CLIENT_ID = "crm-test.apps.googleusercontent.com"
VCARDS = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Roe\r\nEMAIL:ann@example.org\r\n"
    b"END:VCARD\r\n"
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:J\xc3\xb6rg Doe\r\nEMAIL:j.doe@example.com\r\n"
    b"END:VCARD\r\n"
)


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


def ok(body: dict) -> tuple[dict, str]:
    return {"status": "200", "content-type": JSON}, json.dumps(body)


def batch_reply(messages: list[dict]) -> tuple[dict, str]:
    """Return Gmail's multipart/mixed reply to a batch of messages.get calls.

    Each part names its request by Content-ID; the provider's request ids
    are the message ids.
    """
    boundary = "batch_e2e_boundary"
    parts = [
        f"--{boundary}\r\nContent-Type: application/http\r\n"
        f"Content-ID: <response-e2e + {message['id']}>\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
        f"{json.dumps(message)}\r\n"
        for message in messages
    ]
    headers = {"status": "200", "content-type": f"multipart/mixed; boundary={boundary}"}
    return headers, "".join(parts) + f"--{boundary}--\r\n"


def google_token_reply() -> dict:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    claims = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": "107000000000000000001",
        "email": "casey@exampleorg.com",
        "email_verified": True,
        "name": "Casey Example",
        "iat": now,
        "exp": now + 3600,
    }
    return {
        "access_token": "ya29.e2e-access",
        "expires_in": 3599,
        "refresh_token": "1//e2e-refresh",
        "scope": "openid https://www.googleapis.com/auth/userinfo.email "
        "https://www.googleapis.com/auth/gmail.readonly "
        "https://www.googleapis.com/auth/contacts.readonly "
        "https://www.googleapis.com/auth/calendar.readonly",
        "token_type": "Bearer",
        "id_token": jwt.encode(
            claims, "google-signs-with-rs256-this-is-unchecked", algorithm="HS256"
        ),
    }


@pytest.fixture
def gmail_replay(monkeypatch):
    """Answer the Gmail client's HTTP calls with recorded replies, in order."""
    metadata = recorded("messages-metadata.json")
    sequence = HttpMockSequence(
        [
            ok(recorded("profile.json")),
            ok(
                {
                    "messages": [
                        {"id": "m-outbound", "threadId": "t-outbound"},
                        {"id": "m-b12", "threadId": "t-b12"},
                    ],
                    "resultSizeEstimate": 2,
                }
            ),
            batch_reply([metadata["m-outbound"], metadata["m-b12"]]),
        ]
    )
    monkeypatch.setattr(google_client.httplib2, "Http", lambda *a, **k: sequence)
    return sequence


@responses.activate
def test_a_new_user_registers_connects_google_and_finishes_a_gmail_sync(
    settings, gmail_replay, django_capture_on_commit_callbacks
):
    settings.GOOGLE_CLIENT_ID = CLIENT_ID
    settings.GOOGLE_CLIENT_SECRET = "crm-test-secret"
    settings.GOOGLE_REDIRECT_URI = "https://crm.example.com/settings/google-callback"
    anonymous = APIClient()

    # 1. Register, then sign in.
    registered = anonymous.post(
        "/api/v1/auth/register",
        {
            "email": "casey@example.com",
            "password": "casey-passphrase",
            "full_name": "Casey",
        },
        format="json",
    )
    assert registered.status_code == 201
    login = anonymous.post(
        "/api/v1/auth/login",
        {"email": "casey@example.com", "password": "casey-passphrase"},
        format="json",
    )
    assert login.status_code == 200
    casey = APIClient()
    casey.credentials(
        HTTP_AUTHORIZATION=f"Bearer {login.json()['data']['access_token']}"
    )

    # 2. The people Gmail will link mail to.
    imported = casey.post(
        "/api/v1/contacts/import/vcard",
        {"file": SimpleUploadedFile("people.vcf", VCARDS)},
        format="multipart",
    )
    assert imported.json()["data"]["created"] == 2

    # 3. Connect Google.
    state = casey.get("/api/v1/auth/google/url").json()["data"]["state"]
    responses.post(TOKEN_URI, json=google_token_reply())
    connected = casey.post(
        "/api/v1/auth/google/callback",
        {"code": "4/0-e2e-code", "state": state},
        format="json",
    )
    assert connected.status_code == 200
    assert connected.json()["data"]["account"]["email"] == "casey@exampleorg.com"

    # 4. Start the Gmail sync; the task runs once the request has committed.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        started = casey.post("/api/v1/contacts/sync/gmail")
    assert started.status_code == 200
    assert started.json()["data"]["status"] == "started"
    assert len(callbacks) == 1

    # 5. The run, its counts and what it wrote.
    history = casey.get("/api/v1/sync-history?platform=gmail").json()
    assert history["meta"]["total"] == 1
    run = history["data"][0]
    assert (run["platform"], run["sync_type"], run["status"]) == (
        "gmail",
        "manual",
        "success",
    )
    assert (run["records_fetched"], run["records_created"]) == (2, 2)
    assert run["contacts_rescored"] == 2
    assert run["query_count"] > 0
    interactions = Interaction.objects.order_by("occurred_at")
    assert [
        (i.contact.full_name, i.direction, i.content_preview) for i in interactions
    ] == [
        ("Ann Roe", "outbound", "Re: Thursday"),
        ("Jörg Doe", "inbound", "Grüße"),
    ]
    paths = [urlparse(call[0]).path for call in gmail_replay.request_sequence]
    assert paths == [
        "/gmail/v1/users/me/profile",
        "/gmail/v1/users/me/messages",
        "/batch",
    ]
