"""The extension's pairing flow: register a code, poll for the token, unpair."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
import time_machine
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from contacts.auth_api import PAIRING_ALPHABET
from contacts.models import ExtensionPairing
from tests.accounts.clients import bearer, error_message, extension_client, web_client

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
PAIR = "/api/v1/extension/pair"


class PushLikeView(APIView):
    accepts_extension_tokens = True

    def get(self, request):
        return Response({"user": request.user.email})


def push_status(token: str) -> int:
    request = APIRequestFactory().get("/push", HTTP_AUTHORIZATION=f"Bearer {token}")
    return PushLikeView.as_view()(request).status_code


def poll(code: str):
    return APIClient().get(PAIR, {"code": code})


def register(user, code: str | None = None):
    body = {} if code is None else {"code": code}
    return web_client(user).post(PAIR, body, format="json")


def test_the_extension_gets_its_token_once_the_user_registered_its_code(alice):
    registered = register(alice, "  ab12-cd9 ")

    assert registered.status_code == 200
    assert registered.json()["data"]["status"] == "ok"
    assert registered.json()["data"]["code"] == "AB12-CD9"

    polled = poll("ab12-cd9")

    assert polled.status_code == 200
    data = polled.json()["data"]
    assert data["api_url"] == "http://testserver"
    claims = jwt.decode(data["token"], options={"verify_signature": False})
    assert claims["aud"] == "pingcrm-extension"
    assert claims["sub"] == str(alice.pk)
    assert claims["exp"] - claims["iat"] == 30 * 24 * 3600
    assert push_status(data["token"]) == 200
    assert bearer(data["token"]).get("/api/v1/auth/me").status_code == 401


def test_without_a_code_the_server_makes_up_an_unambiguous_one(alice):
    code = register(alice).json()["data"]["code"]

    assert len(code) == 8
    assert set(code) <= set(PAIRING_ALPHABET)
    assert not set(code) & set("01OIL")
    assert poll(code.lower()).status_code == 200


def test_the_claimed_token_is_handed_out_only_once(alice):
    register(alice, "ONCE1234")
    poll("ONCE1234")

    again = poll("ONCE1234")

    assert again.status_code == 410
    assert error_message(again) == "Pairing code already claimed"


def test_an_unknown_code_is_a_404():
    response = poll("NOPE1234")

    assert response.status_code == 404
    assert error_message(response) == "Pairing code not found"


def test_a_code_expires_ten_minutes_after_it_was_registered(alice):
    with time_machine.travel(NOW, tick=False):
        register(alice, "LATE1234")
    with time_machine.travel(NOW + dt.timedelta(minutes=9, seconds=59), tick=False):
        register(alice, "EARLY123")
        assert poll("EARLY123").status_code == 200

    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        response = poll("LATE1234")

    assert response.status_code == 410
    assert error_message(response) == "Pairing code expired"


def test_after_twenty_polls_a_code_answers_429(alice):
    with time_machine.travel(NOW, tick=False):
        register(alice, "POLL1234")

    with time_machine.travel(NOW + dt.timedelta(minutes=11), tick=False):
        statuses = [poll("POLL1234").status_code for _ in range(21)]

    assert statuses == [410] * 20 + [429]
    assert ExtensionPairing.objects.get(code="POLL1234").attempts == 21


def test_the_code_is_checked_for_shape():
    response = poll("no spaces!")

    assert response.status_code == 400
    assert error_message(response) == "code: must be 4-20 letters, digits, '-' or '_'"


def test_another_users_code_cannot_be_taken_over(alice, bob):
    register(alice, "MINE1234")

    response = register(bob, "mine1234")

    assert response.status_code == 409
    assert error_message(response) == "Pairing code in use by another user"


def test_a_claimed_code_cannot_be_registered_again(alice):
    register(alice, "USED1234")
    poll("USED1234")

    response = register(alice, "USED1234")

    assert response.status_code == 409
    assert error_message(response) == "Pairing code already claimed"


def test_registering_the_same_open_code_again_extends_it(alice):
    with time_machine.travel(NOW, tick=False):
        register(alice, "SAME1234")
    with time_machine.travel(NOW + dt.timedelta(minutes=8), tick=False):
        register(alice, "SAME1234")

    with time_machine.travel(NOW + dt.timedelta(minutes=15), tick=False):
        assert poll("SAME1234").status_code == 200


def test_unpairing_revokes_every_extension_token_already_issued(alice):
    register(alice, "FIRST123")
    first = poll("FIRST123").json()["data"]["token"]
    register(alice, "SECOND12")
    second = poll("SECOND12").json()["data"]["token"]
    web = web_client(alice)
    assert (push_status(first), push_status(second)) == (200, 200)

    response = web.delete(PAIR)

    assert response.status_code == 200
    assert response.json()["data"] == {"status": "ok", "revoked": True}
    assert (push_status(first), push_status(second)) == (401, 401)
    assert not ExtensionPairing.objects.filter(owner=alice).exists()
    # The web session is not touched, and pairing again works.
    assert web.get("/api/v1/auth/me").status_code == 200
    register(alice, "THIRD123")
    assert push_status(poll("THIRD123").json()["data"]["token"]) == 200


def test_unpairing_leaves_other_users_extension_tokens_alone(alice, bob):
    register(bob, "BOBS1234")
    bobs = poll("BOBS1234").json()["data"]["token"]

    web_client(alice).delete(PAIR)

    assert push_status(bobs) == 200


def test_me_shows_when_the_extension_was_paired_until_it_is_unpaired(alice):
    with time_machine.travel(NOW, tick=False):
        register(alice, "WHEN1234")
        poll("WHEN1234")
        paired = web_client(alice).get("/api/v1/auth/me").json()["data"]

    web_client(alice).delete(PAIR)
    unpaired = web_client(alice).get("/api/v1/auth/me").json()["data"]

    assert paired["linkedin_extension_paired_at"] == "2026-03-10T12:00:00Z"
    assert unpaired["linkedin_extension_paired_at"] is None


def test_registering_and_unpairing_need_a_web_token(alice):
    assert (
        APIClient().post(PAIR, {"code": "ANON1234"}, format="json").status_code == 401
    )
    assert APIClient().delete(PAIR).status_code == 401
    extension = extension_client(alice)
    assert extension.post(PAIR, {"code": "EXTN1234"}, format="json").status_code == 401
    assert not ExtensionPairing.objects.exists()
