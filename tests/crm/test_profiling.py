"""silk records requests without secrets and shows them to staff only."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from silk.models import Request as SilkRequest

from crm.settings_test import SILK_MIDDLEWARE


@pytest.fixture
def silk_on(settings):
    middleware = list(settings.MIDDLEWARE)
    # Where crm.settings puts it: after authentication, before the counter.
    middleware.insert(
        middleware.index("crm.querycount.QueryCountHeaderMiddleware"), SILK_MIDDLEWARE
    )
    settings.MIDDLEWARE = middleware
    return settings


@pytest.mark.django_db
def test_silk_pages_are_for_staff_only(client, alice, silk_on):
    client.force_login(alice)
    assert client.get("/silk/").status_code in (302, 403)
    alice.is_staff = True
    alice.save()
    assert client.get("/silk/").status_code == 200


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client, silk_on):
    response = client.get("/silk/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_tokens_and_cookies_are_never_stored(client, alice, silk_on):
    token = Token.objects.create(user=alice)
    client.cookies["sessionid"] = "secret-session-value"
    client.get("/api/v1/contacts", HTTP_AUTHORIZATION=f"Token {token.key}")
    recorded = SilkRequest.objects.get(path="/api/v1/contacts")
    headers = json.loads(recorded.encoded_headers)
    assert token.key not in recorded.encoded_headers
    assert "secret-session-value" not in recorded.encoded_headers
    assert headers["authorization"] == "********************"


@pytest.mark.django_db
def test_avatar_data_and_passwords_in_bodies_are_masked(client, alice, silk_on):
    token = Token.objects.create(user=alice)
    payload = {
        "profiles": [
            {
                "profile_id": "masked-person",
                "profile_url": "https://www.linkedin.com/in/masked-person",
                "full_name": "Masked Person",
                "avatar_data": "data:image/png;base64,iVBORw0KGgoSECRETBYTES",
            }
        ],
        "password": "hunter2-secret",
    }
    client.post(
        "/api/v1/linkedin/push",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    recorded = SilkRequest.objects.get(path="/api/v1/linkedin/push")
    assert "SECRETBYTES" not in (recorded.body or "")
    assert "SECRETBYTES" not in (recorded.raw_body or "")
    assert "hunter2-secret" not in (recorded.raw_body or "")


@pytest.mark.django_db
def test_sign_in_and_pairing_requests_are_not_recorded(client, silk_on):
    client.post("/api/v1/auth/login", {"email": "x@example.com", "password": "pw"})
    client.post("/api/v1/extension/pair", {"code": "ABC123"})
    assert not SilkRequest.objects.filter(path__startswith="/api/v1/auth/").exists()
    assert not SilkRequest.objects.filter(
        path__startswith="/api/v1/extension/"
    ).exists()


@pytest.mark.django_db
def test_every_response_carries_its_query_count(client, alice):
    token = Token.objects.create(user=alice)
    response = client.get("/api/v1/contacts", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert int(response["X-Query-Count"]) >= 1


@pytest.mark.django_db
def test_recorded_requests_are_capped(settings):
    assert settings.SILKY_MAX_RECORDED_REQUESTS <= 10_000
    assert settings.SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT > 0
    assert settings.SILKY_AUTHENTICATION and settings.SILKY_AUTHORISATION


@pytest.mark.django_db
def test_silk_own_statements_are_not_counted_against_the_view(client, alice, silk_on):
    from contacts.services import contact_create

    contact_create(owner=alice, full_name="Counted Person")
    token = Token.objects.create(user=alice)
    response = client.get("/api/v1/contacts", HTTP_AUTHORIZATION=f"Token {token.key}")
    # Token lookup, count, page: the recorder sends nothing during the request.
    assert int(response["X-Query-Count"]) == 3
    assert int(response["X-Query-Count"]) <= int(response["X-Query-Budget"])


@pytest.mark.django_db
def test_silk_records_the_queries_without_sending_an_explain_for_each(
    client, alice, silk_on
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from silk.models import SQLQuery

    from contacts.services import contact_create

    contact_create(owner=alice, full_name="Profiled Person")
    token = Token.objects.create(user=alice)
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/contacts", HTTP_AUTHORIZATION=f"Token {token.key}")
    sent = [q["sql"] for q in captured.captured_queries]
    assert not [sql for sql in sent if sql.lstrip().upper().startswith("EXPLAIN")]
    recorded = SilkRequest.objects.get(path="/api/v1/contacts")
    # Token lookup, count, page.
    assert SQLQuery.objects.filter(request=recorded).count() == 3
    assert recorded.num_sql_queries == 3
