"""Every private route answers 401 to every bad or missing credential.

Routes and methods come from the URL resolver (``tests.security.routes``);
which of them are public is read from each view's own permissions, and the
list of public ones is pinned below, so a view that is opened by accident
fails here. Each private (route, method) is called with every credential
in CREDENTIALS: none, garbage, expired, forged, of a deleted or inactive
user, revoked. Each must be a 401 with a ``WWW-Authenticate`` challenge,
and none may change a row of the user the credential names.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Callable

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.authentication import (
    WebToken,
    extension_token_for,
    extension_tokens_revoke,
    web_token_for,
)
from contacts.models import User
from contacts.services import contact_create
from tests.security.routes import Route, route_methods
from tests.security.rows import owned_rows

pytestmark = pytest.mark.django_db

# (route, method) pairs anyone may call. Sign-in and registration, and the
# extension's pairing poll, which it makes before it has a token. The OAuth
# callbacks are not public here: the web app posts Google's/X's code with
# the signed-in user's token, and the state is checked against that user.
EXPECTED_PUBLIC = {
    ("/api/v1/auth/register", "post"),
    ("/api/v1/auth/register", "options"),
    ("/api/v1/auth/login", "post"),
    ("/api/v1/auth/login", "options"),
    ("/api/v1/extension/pair", "get"),
}
PUSH = "/api/v1/linkedin/push"


def _b64(data: dict) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(user: User, **extra) -> dict:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    return {
        "token_type": "access",
        "sub": str(user.pk),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 3600,
        **extra,
    }


def _expired_web_token(user: User) -> str:
    token = WebToken.for_user(user)
    token.set_exp(from_time=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))
    return str(token)


def _deleted_user_token(user: User) -> str:
    ghost = User.objects.create_user(email="ghost@example.com", password="x")
    token = web_token_for(ghost)
    ghost.delete()
    return token


def _inactive_user_token(user: User) -> str:
    sleeper = User.objects.create_user(
        email="sleeper@example.com", password="x", is_active=False
    )
    return web_token_for(sleeper)


def _revoked_extension_token(user: User) -> str:
    token = extension_token_for(user)
    extension_tokens_revoke(user)
    return token


def _deleted_drf_token(user: User) -> str:
    token = Token.objects.create(user=user)
    key = token.key
    token.delete()
    return key


# name -> (Authorization header maker or None for no header).
CREDENTIALS: dict[str, Callable[[User], str] | None] = {
    "no-credentials": None,
    "bearer-garbage": lambda user: "Bearer not-a-jwt",
    "bearer-empty": lambda user: "Bearer ",
    "token-garbage": lambda user: "Token " + "0" * 40,
    "basic-password": lambda user: (
        "Basic " + base64.b64encode(b"alice@example.com:alice-pass-1").decode()
    ),
    "expired-web-jwt": lambda user: "Bearer " + _expired_web_token(user),
    "web-jwt-signed-with-another-key": lambda user: (
        "Bearer "
        + jwt.encode(
            _claims(user, aud="pingcrm-web"), "not-the-secret-key-" * 3, "HS256"
        )
    ),
    "jwt-without-audience": lambda user: (
        "Bearer " + jwt.encode(_claims(user), settings.SECRET_KEY, "HS256")
    ),
    "jwt-of-unknown-audience": lambda user: (
        "Bearer "
        + jwt.encode(_claims(user, aud="someone-else"), settings.SECRET_KEY, "HS256")
    ),
    "jwt-alg-none": lambda user: (
        "Bearer "
        + f"{_b64({'alg': 'none', 'typ': 'JWT'})}."
        + f"{_b64(_claims(user, aud='pingcrm-web'))}."
    ),
    "web-jwt-of-deleted-user": lambda user: "Bearer " + _deleted_user_token(user),
    "web-jwt-of-inactive-user": lambda user: "Bearer " + _inactive_user_token(user),
    "revoked-extension-jwt": lambda user: "Bearer " + _revoked_extension_token(user),
    "deleted-drf-token": lambda user: "Token " + _deleted_drf_token(user),
}
# A valid extension token is refused everywhere but on the push.
EXTENSION_ONLY_ON_PUSH = "valid-extension-jwt-off-the-push"

PRIVATE = route_methods(public=False)
PUBLIC = route_methods(public=True)


def _url(route: Route) -> str:
    return route.url(**{name: uuid.uuid4() for name in route.parameters})


def _call(route: Route, method: str, header: str | None):
    cache.clear()
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    body = json.dumps({"full_name": "x", "profiles": [], "messages": []})
    if method in ("get", "head", "options", "delete"):
        return getattr(client, method)(_url(route))
    return getattr(client, method)(_url(route), body, content_type="application/json")


def _id(pair: tuple[Route, str]) -> str:
    route, method = pair
    return f"{method.upper()} {route}"


def test_the_public_routes_are_exactly_the_sign_in_ones():
    found = {(str(route), method) for route, method in PUBLIC}

    cases = sum(len(CREDENTIALS) + (str(route) != PUSH) for route, _method in PRIVATE)
    print(
        f"\nunauthenticated: {len(PRIVATE)} private (route, method) pairs, "
        f"{cases} attack cases, {len(PUBLIC) * 2} public-route cases"
    )
    assert found == EXPECTED_PUBLIC


@pytest.mark.parametrize("pair", PRIVATE, ids=_id)
def test_a_private_route_refuses_every_bad_credential_with_401(alice, pair):
    route, method = pair
    contact_create(owner=alice, full_name="Kept")
    before = owned_rows(alice)
    credentials = dict(CREDENTIALS)
    if str(route) != PUSH:
        credentials[EXTENSION_ONLY_ON_PUSH] = lambda user: (
            "Bearer " + (extension_token_for(user))
        )

    wrong = {}
    for name, make in credentials.items():
        header = make(alice) if make else None
        response = _call(route, method, header)
        challenge = response.headers.get("WWW-Authenticate", "")
        if response.status_code != 401 or not challenge:
            wrong[name] = (response.status_code, challenge, response.content[:200])
        elif method != "head":
            assert response.json()["data"] is None
            assert response.json()["error"]["status"] == 401

    assert wrong == {}
    # Revoking and minting changed the extension access row; nothing else.
    after = owned_rows(alice)
    after.pop("contacts.ExtensionAccess")
    before.pop("contacts.ExtensionAccess", None)
    assert after == before


@pytest.mark.parametrize("pair", PUBLIC, ids=_id)
@pytest.mark.parametrize("header", [None, "Bearer not-a-jwt"], ids=["none", "junk"])
def test_a_public_route_answers_without_sign_in_and_ignores_a_bad_token(
    db, pair, header
):
    route, method = pair

    response = _call(route, method, header)

    # An empty or partial body: a validation error, never a 401 or a 5xx.
    assert response.status_code in (200, 400), response.content


def test_the_push_takes_a_valid_extension_token_and_refuses_it_once_unpaired(alice):
    token = extension_token_for(alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"profiles": [{"profile_id": "jane-doe", "full_name": "Jane Doe"}]}

    accepted = client.post(PUSH, body, format="json")
    client.delete("/api/v1/extension/pair")  # extension tokens cannot unpair
    web = APIClient()
    web.credentials(HTTP_AUTHORIZATION=f"Bearer {web_token_for(alice)}")
    assert web.delete("/api/v1/extension/pair").status_code == 200
    cache.clear()
    refused = client.post(PUSH, body, format="json")

    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["data"]["contacts_created"] == 1
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Extension token has been revoked"


def test_a_drf_token_stops_working_once_deleted(alice):
    token = Token.objects.create(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    before = client.get("/api/v1/contacts")
    token.delete()
    after = client.get("/api/v1/contacts")

    assert (before.status_code, after.status_code) == (200, 401)


def test_a_browser_session_cannot_write_without_the_csrf_token(alice):
    # Session authentication serves the browsable API; a cross-site form
    # post rides on the cookie, so a write without the CSRF token is refused.
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)

    read = client.get("/api/v1/contacts")
    write = client.post("/api/v1/contacts", {"full_name": "Forged"}, format="json")

    assert read.status_code == 200
    assert write.status_code == 403
    assert "CSRF" in write.json()["error"]["message"]
    assert not alice.contacts.exists()
