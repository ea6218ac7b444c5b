"""Break the silk recorder: secrets that reach silk's tables anyway."""

from __future__ import annotations

import base64
import json

import pytest
from silk.models import Request as SilkRequest
from silk.models import Response as SilkResponse
from silk.models import SQLQuery

from crm.settings_test import SILK_MIDDLEWARE


@pytest.fixture
def recording(settings):
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("crm.querycount.QueryCountHeaderMiddleware"), SILK_MIDDLEWARE
    )
    settings.MIDDLEWARE = middleware
    return settings


def _everything_stored() -> str:
    rows = [
        *SilkRequest.objects.values_list(
            "path", "query_params", "raw_body", "body", "encoded_headers"
        ),
        *SilkResponse.objects.values_list("encoded_headers", "body", "raw_body"),
        *SQLQuery.objects.values_list("query", "traceback"),
    ]
    decoded = [
        base64.b64decode(raw).decode("utf-8", "replace")
        for raw in SilkResponse.objects.exclude(raw_body="").values_list(
            "raw_body", flat=True
        )
    ]
    return "\n".join([*(str(value) for row in rows for value in row), *decoded])


@pytest.mark.django_db
def test_sign_in_password_is_stored_nowhere(client, alice, recording):
    response = client.post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "alice-pass-1"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert "alice-pass-1" not in _everything_stored()


@pytest.mark.django_db
def test_the_issued_sign_in_token_is_stored_nowhere(client, alice, recording):
    response = client.post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "alice-pass-1"},
        content_type="application/json",
    )

    token = response.json()["data"]["access_token"]
    assert token not in _everything_stored()


@pytest.mark.django_db
def test_the_register_token_is_stored_nowhere(client, recording):
    response = client.post(
        "/api/v1/auth/register",
        {"email": "new@example.com", "password": "a-long-pass-99", "full_name": "N"},
        content_type="application/json",
    )

    assert response.status_code in (200, 201), response.content
    token = response.json()["data"]["access_token"]
    stored = _everything_stored()
    assert "a-long-pass-99" not in stored
    assert token not in stored


@pytest.mark.django_db
def test_a_bearer_token_is_stored_nowhere(client, alice, recording):
    from contacts.authentication import web_token_for

    token = web_token_for(alice)
    response = client.get("/api/v1/contacts", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 200
    stored = _everything_stored()
    assert token not in stored
    assert json.loads(SilkRequest.objects.get().encoded_headers)


@pytest.mark.django_db
def test_non_staff_with_a_bearer_token_reach_no_silk_page(client, alice, recording):
    from contacts.authentication import web_token_for

    token = web_token_for(alice)
    client.force_login(alice)
    for path in ("/silk/", "/silk/requests/"):
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code in (302, 403), (path, response.status_code)


@pytest.mark.django_db
def test_sign_in_under_a_script_name_is_not_recorded(client, alice, recording):
    response = client.post(
        "/api/v1/auth/login",
        {"email": "alice@example.com", "password": "alice-pass-1"},
        content_type="application/json",
        SCRIPT_NAME="/crm",
    )

    assert response.status_code == 200
    token = response.json()["data"]["access_token"]
    assert token not in _everything_stored()
    assert SilkRequest.objects.count() == 0


@pytest.mark.django_db
def test_a_view_that_raises_is_still_a_500_and_is_recorded(
    alice, recording, monkeypatch
):
    from django.test import Client

    from contacts import api
    from contacts.authentication import web_token_for

    def broken(self, request):
        raise RuntimeError("the view fell over")

    monkeypatch.setattr(api.ContactStatsApi, "get", broken)
    client = Client(raise_request_exception=False)
    response = client.get(
        "/api/v1/contacts/stats", HTTP_AUTHORIZATION=f"Bearer {web_token_for(alice)}"
    )

    assert response.status_code == 500
    recorded = SilkRequest.objects.get(path="/api/v1/contacts/stats")
    assert recorded.response.status_code == 500


@pytest.mark.django_db
def test_admin_pages_store_no_password_hash(admin_client, alice, recording):
    response = admin_client.get(f"/admin/contacts/user/{alice.pk}/change/")

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.password not in _everything_stored()
    hash_part = alice.password.split("$")[-1]
    assert hash_part not in _everything_stored()


@pytest.mark.django_db
def test_admin_account_pages_store_no_oauth_token(admin_client, alice, recording):
    from syncjobs.models import ProviderAccount

    account = ProviderAccount.objects.create(
        owner=alice,
        kind="google",
        account_id="alice.work@example.com",
        access_token="ya29.secret-access-alice",
        refresh_token="1//secret-refresh-alice",
    )

    for path in (
        "/admin/syncjobs/provideraccount/",
        f"/admin/syncjobs/provideraccount/{account.pk}/change/",
    ):
        assert admin_client.get(path).status_code == 200, path

    stored = _everything_stored()
    assert "secret-access-alice" not in stored
    assert "secret-refresh-alice" not in stored
