"""alice attacks bob's rows through every route under /api/v1/ and changes nothing.

The routes come from the URL resolver (``tests.security.routes``), so a new
endpoint is attacked as soon as it is routed. For each route and method
alice tries, signed in with her own real credentials:

- ``bobs-id-in-path``: every id in the path is one of bob's rows (contact,
  notification, Google account) -> exactly 404;
- ``bobs-ids-in-query``: her own ids in the path, bob's ids, tag, name and
  owner id in every id-like query parameter -> no 5xx, nothing of bob's in
  the answer;
- ``bobs-ids-in-body``: the same in a JSON body of every writing method.

After every request a snapshot of every row bob owns (in every model with a
foreign key to the user, and his user row) must be exactly as before. The
LinkedIn push, the uploads and the OAuth callbacks, which match or claim
rows by content rather than by id, get their own attacks below.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.authentication import web_token_for
from contacts.models import (
    Contact,
    ExtensionPairing,
    FollowUpSuggestion,
    Interaction,
    Notification,
    User,
)
from contacts.services import contact_create
from syncjobs.models import ProviderAccount, SyncRun
from tests.security.routes import Route, api_routes
from tests.security.rows import owned_rows

pytestmark = pytest.mark.django_db

NOW = timezone.now()
BOB_PROFILE_ID = "bobby-secretname-42"
BOB_URL = f"https://www.linkedin.com/in/{BOB_PROFILE_ID}"
BOB_NAME = "Bobby Secretname"
BOB_EMAIL = "bobby.secret@bob.example"
BOB_TAG = "bobsecrettag"
BOB_CONVERSATION = "bob-conversation-7"
BOB_HASH = "bob-content-hash-7"
BOB_PAIRING_CODE = "BQBK7W2X"
# What must never appear in an answer to alice unless she sent it herself.
BOB_MARKERS = (
    BOB_NAME,
    BOB_EMAIL,
    "bob@example.com",
    "Bob private note",
    "Bob private notice",
    "bob private error",
    "bob.google@bob.example",
    "bob-access-secret",
    "bob-refresh-secret",
    "bob private preview",
    BOB_PAIRING_CODE,
)
WRITE_METHODS = ("post", "put", "patch", "delete")


@dataclass
class World:
    alice: User
    bob: User
    alice_client: APIClient
    alice_token_client: APIClient
    # Path parameter name -> the row of that kind, per user.
    bobs_ids: dict[str, uuid.UUID]
    alices_ids: dict[str, uuid.UUID]
    bobs_contact: Contact
    bobs_interaction: Interaction


def _seed(owner: User, *, prefix: str, name: str, email: str) -> dict:
    """Create one row of each kind for ``owner``; return them by kind."""
    person = contact_create(
        owner=owner,
        full_name=name,
        emails=[email],
        tags=[f"{prefix}secrettag"],
        company=f"{prefix.title()}corp",
        notes=f"{prefix.title()} private note",
        linkedin_profile_id=f"{prefix}by-secretname-42",
        linkedin_url=f"https://www.linkedin.com/in/{prefix}by-secretname-42",
        priority_level="high",
        relationship_score=9,
        last_interaction_at=NOW - dt.timedelta(days=90),
        birthday=dt.date(1990, 6, 15),
    )
    interaction = Interaction.objects.create(
        owner=owner,
        contact=person,
        platform="linkedin",
        direction="inbound",
        content_preview=f"{prefix} private preview",
        raw_reference_id=f"linkedin:{prefix}-conversation-7:{prefix}-content-hash-7",
        occurred_at=NOW - dt.timedelta(days=1),
    )
    notification = Notification.objects.create(
        owner=owner,
        notification_type="sync",
        title=f"{prefix.title()} private notice",
        link="/settings",
    )
    run = SyncRun.objects.create(
        owner=owner,
        platform="gmail",
        sync_type="manual",
        status="failed",
        started_at=NOW - dt.timedelta(hours=1),
        error_message=f"{prefix} private error",
    )
    FollowUpSuggestion.objects.create(owner=owner, contact=person, reason="overdue")
    return {
        "contact": person,
        "interaction": interaction,
        "notification": notification,
        "run": run,
    }


@pytest.fixture
def world(alice, bob) -> World:
    cache.clear()
    bobs = _seed(bob, prefix="bob", name=BOB_NAME, email=BOB_EMAIL)
    alices = _seed(
        alice, prefix="alice", name="Alice Friend", email="friend@alice.example"
    )
    bobs_google = ProviderAccount.objects.create(
        owner=bob,
        kind=ProviderAccount.KIND_GOOGLE,
        account_id="bob.google@bob.example",
        access_token="bob-access-secret",
        refresh_token="bob-refresh-secret",
    )
    ProviderAccount.objects.create(
        owner=bob,
        kind=ProviderAccount.KIND_TWITTER,
        account_id="9001",
        account_name="bobtweets",
        access_token="bob-access-secret",
    )
    # alice's account needs reconnecting, so her sync triggers stop at the
    # precondition and never queue a task against a provider.
    alices_google = ProviderAccount.objects.create(
        owner=alice,
        kind=ProviderAccount.KIND_GOOGLE,
        account_id="alice.google@alice.example",
        status=ProviderAccount.STATUS_REAUTH,
    )
    ExtensionPairing.objects.create(
        owner=bob, code=BOB_PAIRING_CODE, expires_at=NOW + dt.timedelta(minutes=5)
    )
    Token.objects.create(user=bob)

    alice_client = APIClient()
    alice_client.credentials(HTTP_AUTHORIZATION=f"Bearer {web_token_for(alice)}")
    token_client = APIClient()
    token_client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}"
    )
    return World(
        alice=alice,
        bob=bob,
        alice_client=alice_client,
        alice_token_client=token_client,
        bobs_ids={
            "contact_id": bobs["contact"].pk,
            "notification_id": bobs["notification"].pk,
            "account_id": bobs_google.pk,
        },
        alices_ids={
            "contact_id": alices["contact"].pk,
            "notification_id": alices["notification"].pk,
            "account_id": alices_google.pk,
        },
        bobs_contact=bobs["contact"],
        bobs_interaction=bobs["interaction"],
    )


# --- the catalogue of attacks --------------------------------------------------


@dataclass(frozen=True)
class Attack:
    route: Route
    method: str
    variant: str
    credential: str = "web-jwt"

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.route} {self.variant} {self.credential}"


def _private_methods(route: Route) -> list[str]:
    # OPTIONS answers the view's metadata and never reads a row.
    return [m for m in route.methods if m != "options" and not route.is_public(m)]


def attack_catalogue() -> list[Attack]:
    """Return every attack alice makes, derived from the routes."""
    attacks = []
    for route in api_routes():
        for method in _private_methods(route):
            if route.parameters:
                attacks.append(Attack(route, method, "bobs-id-in-path"))
                attacks.append(Attack(route, method, "bobs-id-in-path", "drf-token"))
            attacks.append(Attack(route, method, "bobs-ids-in-query"))
            if method in WRITE_METHODS:
                attacks.append(Attack(route, method, "bobs-ids-in-body"))
    return attacks


ATTACKS = attack_catalogue()


def _bob_values(world: World) -> dict:
    bob_ids = [str(v) for v in world.bobs_ids.values()]
    return {
        "id": str(world.bobs_contact.pk),
        "pk": str(world.bobs_contact.pk),
        "ids": bob_ids,
        "contact": str(world.bobs_contact.pk),
        "contact_id": str(world.bobs_contact.pk),
        "contact_ids": [str(world.bobs_contact.pk)],
        "interaction_id": str(world.bobs_interaction.pk),
        "notification_id": str(world.bobs_ids["notification_id"]),
        "account_id": str(world.bobs_ids["account_id"]),
        "account": str(world.bobs_ids["account_id"]),
        "run_id": str(SyncRun.objects.get(owner=world.bob).pk),
        "owner": str(world.bob.pk),
        "owner_id": str(world.bob.pk),
        "user": str(world.bob.pk),
        "user_id": str(world.bob.pk),
    }


def _query(world: World) -> dict:
    values = _bob_values(world)
    values["ids"] = ",".join(values["ids"])
    values["contact_ids"] = ",".join(values["contact_ids"])
    # Part of bob's contact's name and his tag: a search or tag filter that
    # escaped the owner would list his contact.
    return {**values, "search": "Secretname", "tag": BOB_TAG, "link": "/settings"}


def _body(world: World) -> dict:
    return {
        **_bob_values(world),
        # bob's pairing code: registering it must not hand it to alice.
        "code": BOB_PAIRING_CODE,
        # Real fields, so that a write that ignores the ids still writes.
        "full_name": "Written by alice",
        "tags": ["alicetag"],
        "profiles": [{"profile_id": BOB_PROFILE_ID, "full_name": "Alice's view"}],
        "messages": [],
    }


def _send(client: APIClient, method: str, url: str, *, query=None, body=None):
    cache.clear()  # throttle counters: every attack is a first request
    if query:
        url = f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(
        url, json.dumps(body), content_type="application/json"
    )


def _leaked(response, sent: str) -> list[str]:
    text = response.content.decode("utf-8", "replace")
    return [marker for marker in BOB_MARKERS if marker in text and marker not in sent]


@pytest.mark.parametrize("attack", ATTACKS, ids=str)
def test_alice_cannot_read_change_or_delete_bobs_rows(world, attack):
    before = owned_rows(world.bob)
    client = (
        world.alice_token_client
        if attack.credential == "drf-token"
        else world.alice_client
    )
    query = body = None
    if attack.variant == "bobs-id-in-path":
        url = attack.route.url(**world.bobs_ids)
    else:
        missing = set(attack.route.parameters) - world.alices_ids.keys()
        assert not missing, f"new path parameter {missing}: give World rows for it"
        url = attack.route.url(**world.alices_ids)
        if attack.variant == "bobs-ids-in-query":
            query = _query(world)
        else:
            body = _body(world)

    response = _send(client, attack.method, url, query=query, body=body)

    if attack.variant == "bobs-id-in-path":
        assert response.status_code == 404, response.content
        if attack.method != "head":
            assert response.json()["error"]["code"] == "not_found"
    else:
        # 401 would mean the attack never got past sign-in.
        assert response.status_code < 500, response.content
        assert response.status_code != 401, response.content
    assert _leaked(response, json.dumps([query, body])) == []
    assert owned_rows(world.bob) == before


def test_the_catalogue_attacks_every_route_and_is_counted():
    routes = api_routes()
    attacked = {str(a.route) for a in ATTACKS}
    public_only = {
        str(r) for r in routes if not any(not r.is_public(m) for m in r.methods)
    }

    print(
        f"\nowner isolation: {len(ATTACKS)} generic attack cases over "
        f"{len(routes)} routes, plus {len(SPECIFIC_ATTACKS)} content attacks "
        f"(push matching, uploads, OAuth state)"
    )
    assert attacked | public_only == {str(r) for r in routes}
    assert public_only == {"/api/v1/auth/register", "/api/v1/auth/login"}
    path_routes = {str(a.route) for a in ATTACKS if a.variant == "bobs-id-in-path"}
    assert path_routes == {
        "/api/v1/notifications/<uuid:notification_id>/read",
        "/api/v1/auth/google/accounts/<uuid:account_id>",
        "/api/v1/contacts/<uuid:contact_id>",
        "/api/v1/contacts/<uuid:contact_id>/activity",
    }


# --- matching by content: the LinkedIn push -----------------------------------

PUSH = "/api/v1/linkedin/push"


def _push(world: World, body: dict) -> dict:
    response = _send(world.alice_client, "post", PUSH, body=body)
    assert response.status_code == 200, response.content
    assert _leaked(response, json.dumps(body)) == []
    return response.json()["data"]


def _message(**fields) -> dict:
    return {
        "direction": "inbound",
        "timestamp": "2026-01-05T10:00:00Z",
        "conversation_id": "alice-conversation-1",
        "content_preview": "hi",
        **fields,
    }


PUSH_ATTACKS = {
    "bobs-profile-id-and-url": {
        "profiles": [
            {"profile_id": BOB_PROFILE_ID, "profile_url": BOB_URL, "full_name": "X"}
        ]
    },
    "bobs-url-spelled-differently": {
        "profiles": [
            {
                "profile_url": "HTTP://uk.LinkedIn.com/in/Bobby-Secretname-42/?x=1",
                "full_name": "X",
                "headline": "Overwritten at Alice",
            }
        ]
    },
    "bobs-profile-id-in-a-message": {
        "messages": [_message(profile_id=BOB_PROFILE_ID, profile_name=BOB_NAME)]
    },
    "bobs-contacts-name-in-a-message": {"messages": [_message(profile_name=BOB_NAME)]},
    "bobs-url-slug-as-message-profile-id": {
        "messages": [_message(profile_id="BOBBY-SECRETNAME-42")]
    },
}


@pytest.mark.parametrize("body", PUSH_ATTACKS.values(), ids=PUSH_ATTACKS.keys())
def test_a_push_naming_bobs_contact_gives_alice_her_own_new_contact(world, body):
    before = owned_rows(world.bob)

    data = _push(world, body)

    assert data["contacts_created"] == 1
    assert data["contacts_updated"] == 0
    assert data["interactions_created"] == len(body.get("messages", []))
    new = Contact.objects.filter(owner=world.alice).exclude(full_name="Alice Friend")
    assert new.count() == 1
    assert str(world.bobs_contact.pk) not in json.dumps(data)
    assert owned_rows(world.bob) == before


def test_a_push_repeating_bobs_message_key_is_stored_for_alice_not_skipped(world):
    before = owned_rows(world.bob)
    body = {
        "messages": [
            _message(
                profile_id="someone-else",
                conversation_id=BOB_CONVERSATION,
                content_hash=BOB_HASH,
            )
        ]
    }

    data = _push(world, body)

    assert (data["interactions_created"], data["interactions_skipped"]) == (1, 0)
    stored = Interaction.objects.get(
        owner=world.alice, platform="linkedin", contact__full_name=None
    )
    assert stored.raw_reference_id == f"linkedin:{BOB_CONVERSATION}:{BOB_HASH}"
    assert owned_rows(world.bob) == before


def test_the_backfill_list_never_names_bobs_contacts(world):
    # bob has a backfill candidate (a profile id, no avatar); alice none.
    Contact.objects.filter(owner=world.alice).update(avatar_url="/a.png")
    before = owned_rows(world.bob)

    data = _push(world, {"profiles": [], "messages": []})

    assert data["backfill_needed"] == []
    assert owned_rows(world.bob) == before


# --- matching by content: uploads ----------------------------------------------

VCARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\n"
    f"FN:{BOB_NAME}\r\nEMAIL:{BOB_EMAIL}\r\nNOTE:alice's card\r\n"
    f"URL:{BOB_URL}\r\nEND:VCARD\r\n"
).encode()
CSV = (
    "Name,Given Name,Family Name,E-mail 1 - Type,E-mail 1 - Value\r\n"
    f"{BOB_NAME},Bobby,Secretname,* Home,{BOB_EMAIL}\r\n"
).encode()
MBOX = (
    "From bobby.secret@bob.example Mon Jan  5 10:00:00 2026\n"
    f"From: {BOB_NAME} <{BOB_EMAIL}>\nTo: alice@example.com\n"
    "Date: Mon, 5 Jan 2026 10:00:00 +0000\nMessage-ID: <m1@bob.example>\n"
    "Subject: hello\n\nbody\n"
).encode()
UPLOAD_ATTACKS = {
    "vcard": ("contacts.vcf", VCARD, 1, 0),
    "csv": ("contacts.csv", CSV, 1, 0),
    "mbox": ("mail.mbox", MBOX, 1, 1),
}


@pytest.mark.parametrize("kind", UPLOAD_ATTACKS)
def test_an_upload_of_bobs_contact_creates_alices_own_copy(world, kind):
    name, content, contacts, interactions = UPLOAD_ATTACKS[kind]
    before = owned_rows(world.bob)
    cache.clear()

    response = world.alice_client.post(
        f"/api/v1/contacts/import/{kind}",
        {
            "file": SimpleUploadedFile(name, content),
            "owner": str(world.bob.pk),
            "contact_id": str(world.bobs_contact.pk),
        },
        format="multipart",
    )

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["created"], data["failed"]) == (contacts + interactions, 0)
    copy = Contact.objects.get(owner=world.alice, full_name=BOB_NAME)
    assert copy.emails == [BOB_EMAIL]
    assert Interaction.objects.filter(contact=copy).count() == interactions
    assert owned_rows(world.bob) == before


# --- claiming by content: OAuth state and pairing ------------------------------

OAUTH = {
    "GOOGLE_CLIENT_ID": "client-id.apps.googleusercontent.com",
    "GOOGLE_CLIENT_SECRET": "client-secret",
    "GOOGLE_REDIRECT_URI": "http://127.0.0.1/callback",
    "TWITTER_CLIENT_ID": "tw-client",
    "TWITTER_CLIENT_SECRET": "tw-secret",
    "TWITTER_REDIRECT_URI": "https://127.0.0.1/tw-callback",
}


@pytest.mark.parametrize("provider", ["google", "twitter"])
def test_alice_cannot_finish_a_connection_with_bobs_oauth_state(world, provider):
    bob_client = APIClient()
    bob_client.credentials(HTTP_AUTHORIZATION=f"Bearer {web_token_for(world.bob)}")
    with override_settings(**OAUTH):
        started = bob_client.get(f"/api/v1/auth/{provider}/url")
        assert started.status_code == 200, started.content
        state = started.json()["data"]["state"]
        before = owned_rows(world.bob)
        accounts = ProviderAccount.objects.count()

        # Refused before any token exchange: no HTTP mock is needed, and
        # an attempt to reach the provider would fail the test.
        response = _send(
            world.alice_client,
            "post",
            f"/api/v1/auth/{provider}/callback",
            body={"code": "stolen-code", "state": state},
        )

    assert response.status_code == 403, response.content
    assert ProviderAccount.objects.count() == accounts
    assert owned_rows(world.bob) == before


def test_alice_cannot_take_over_bobs_pairing_code(world):
    before = owned_rows(world.bob)

    response = _send(
        world.alice_client,
        "post",
        "/api/v1/extension/pair",
        body={"code": BOB_PAIRING_CODE},
    )

    assert response.status_code == 409
    assert response.json()["error"]["message"] == "Pairing code in use by another user"
    assert owned_rows(world.bob) == before


def test_alice_cannot_make_herself_staff_or_take_bobs_identity(world):
    before = owned_rows(world.bob)

    response = _send(
        world.alice_client,
        "put",
        "/api/v1/auth/me",
        body={
            "id": str(world.bob.pk),
            "email": "bob@example.com",
            "is_staff": True,
            "is_superuser": True,
            "password": "x",
            "full_name": "Alice Renamed",
        },
    )

    assert response.status_code == 200, response.content
    alice = User.objects.get(pk=world.alice.pk)
    assert (alice.email, alice.full_name) == ("alice@example.com", "Alice Renamed")
    assert (alice.is_staff, alice.is_superuser) == (False, False)
    assert alice.check_password("alice-pass-1")
    assert owned_rows(world.bob) == before


def test_a_contact_alice_creates_with_bobs_ids_is_hers_with_a_new_id(world):
    before = owned_rows(world.bob)

    response = _send(
        world.alice_client,
        "post",
        "/api/v1/contacts",
        body={
            "id": str(world.bobs_contact.pk),
            "owner": str(world.bob.pk),
            "user_id": str(world.bob.pk),
            "full_name": "Mine",
            "relationship_score": 10,
            "user_edited_fields": ["emails"],
        },
    )

    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["id"] != str(world.bobs_contact.pk)
    assert data["user_id"] == str(world.alice.pk)
    assert (data["relationship_score"], data["user_edited_fields"]) == (0, [])
    assert owned_rows(world.bob) == before


SPECIFIC_ATTACKS = [
    *PUSH_ATTACKS,
    "push-bobs-message-key",
    "push-backfill",
    *UPLOAD_ATTACKS,
    "oauth-google",
    "oauth-twitter",
    "pairing-code",
    "profile-mass-assignment",
    "contact-mass-assignment",
]
