"""The recorder fills silk's tables as silk would, in batches, masked.

Requests are written as they end (SILK_RECORDER_SYNCHRONOUS, from the test
settings) unless a test turns the background writer on.
"""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from silk.models import Request as SilkRequest
from silk.models import Response as SilkResponse
from silk.models import SQLQuery

from contacts.services import contact_create
from crm.settings_test import SILK_MIDDLEWARE
from crm.silk_recorder import tables
from crm.silk_recorder.capture import RecordedRequest
from crm.silk_recorder.rows import SilkRows
from crm.silk_recorder.writer import recording_writer

MASK = "********************"


@pytest.fixture
def recording(settings):
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(
        middleware.index("crm.querycount.QueryCountHeaderMiddleware"), SILK_MIDDLEWARE
    )
    settings.MIDDLEWARE = middleware
    return settings


@pytest.fixture
def in_batches(recording):
    """Buffer requests for the background writer; stop it afterwards."""
    recording.SILK_RECORDER_SYNCHRONOUS = False
    recording.SILK_RECORDER_BATCH_SIZE = 2
    recording.SILK_RECORDER_FLUSH_SECONDS = 3600
    writer = recording_writer()
    yield writer
    writer.stop()


@pytest.fixture
def token(alice):
    contact_create(owner=alice, full_name="Recorded Person")
    return Token.objects.create(user=alice).key


def _list(client, token, query=""):
    return client.get(f"/api/v1/contacts{query}", HTTP_AUTHORIZATION=f"Token {token}")


def _everything_stored() -> str:
    rows = [
        *SilkRequest.objects.values_list(
            "path", "query_params", "raw_body", "body", "encoded_headers"
        ),
        *SilkResponse.objects.values_list("encoded_headers", "body", "raw_body"),
        *SQLQuery.objects.values_list("query", "traceback"),
    ]
    return "\n".join(str(value) for row in rows for value in row)


@pytest.mark.django_db
def test_a_request_is_stored_with_its_response_and_every_statement(
    client, token, recording
):
    response = _list(client, token, "?page_size=5")

    recorded = SilkRequest.objects.get()
    assert (recorded.path, recorded.method) == ("/api/v1/contacts", "GET")
    assert recorded.view_name == "contact-list"
    assert json.loads(recorded.query_params) == {"page_size": "5"}
    assert recorded.num_sql_queries == int(response["X-Query-Count"]) == 3
    assert recorded.end_time >= recorded.start_time
    assert recorded.time_taken >= 0
    assert recorded.meta_num_queries == 0
    assert recorded.response.status_code == 200
    # As sent, not re-indented, and without a base64 copy of the same text.
    assert recorded.response.body == response.content.decode()
    assert recorded.response.raw_body == ""
    assert recorded.response.headers["Content-Type"] == "application/json"
    queries = list(SQLQuery.objects.filter(request=recorded).order_by("identifier"))
    assert [q.identifier for q in queries] == [1, 2, 3]
    assert '"authtoken_token"' in queries[0].query
    assert all(q.time_taken >= 0 and q.analysis is None for q in queries)
    # The statement's own caller and the project's frames, as silk's pages
    # read them (pairs of lines).
    assert "rest_framework/authentication.py" in queries[0].traceback
    assert "/contacts/api.py" in queries[2].traceback
    assert queries[2].traceback_ln_only.startswith('  File "')


@pytest.mark.django_db
def test_the_api_token_is_stored_nowhere(client, token, recording):
    _list(client, token)

    stored = _everything_stored()
    assert token not in stored
    lookup = SQLQuery.objects.get(query__contains='FROM "authtoken_token"')
    assert f'"authtoken_token"."key" = {MASK}' in lookup.query


@pytest.mark.django_db
def test_sensitive_query_string_keys_are_masked(client, token, recording):
    secret = "-".join(("query", "secret"))  # not in this line's source either
    _list(client, token, f"?search=Recorded&api_key={secret}")

    recorded = SilkRequest.objects.get()
    assert json.loads(recorded.query_params) == {"search": "Recorded", "api_key": MASK}
    assert secret not in _everything_stored()


@pytest.mark.django_db
def test_form_passwords_are_masked_as_silk_masks_them(client, recording):
    secret = "-".join(("hunter2", "secret"))
    client.post(
        "/api/v1/nowhere",
        f"password={secret}&name=Ann",
        content_type="application/x-www-form-urlencoded",
    )

    recorded = SilkRequest.objects.get(path="/api/v1/nowhere")
    assert recorded.raw_body == f"password={MASK}&name=Ann"
    assert json.loads(recorded.body) == {"password": MASK, "name": ["Ann"]}
    assert secret not in _everything_stored()
    assert recorded.response.status_code == 404


@pytest.mark.django_db
def test_a_body_over_the_limit_is_neither_read_nor_stored(
    client, alice, token, recording
):
    recording.SILKY_MAX_REQUEST_BODY_SIZE = 100
    payload = {"full_name": "Big Body " + "x" * 200}

    response = client.post(
        "/api/v1/contacts",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )

    assert response.status_code == 201
    recorded = SilkRequest.objects.get(method="POST")
    assert (recorded.body, recorded.raw_body) == ("", "")


@pytest.mark.django_db
def test_a_response_over_the_limit_is_not_stored(client, token, recording):
    recording.SILKY_MAX_RESPONSE_BODY_SIZE = 100

    _list(client, token)

    response = SilkResponse.objects.get()
    assert (response.body, response.raw_body) == ("", "")


def test_response_cookies_and_sensitive_headers_are_masked():
    recorded = RecordedRequest(
        path="/api/v1/contacts",
        method="GET",
        meta={"HTTP_COOKIE": "sessionid=request-secret", "HTTP_X_TRACE": "t-1"},
        query_string="",
        body=b"",
        multipart=False,
        started=1_800_000_000.0,
        status_code=200,
        response_headers=[
            ("Content-Type", "text/plain"),
            ("Set-Cookie", "sessionid=response-secret; HttpOnly"),
            ("X-Api-Key", "header-secret"),
        ],
        response_content=b"plain text",
    )
    rows = SilkRows()

    rows.add(recorded)

    assert json.loads(rows.requests[0]["encoded_headers"]) == {
        "cookie": MASK,
        "x-trace": "t-1",
    }
    assert json.loads(rows.responses[0]["encoded_headers"]) == {
        "Content-Type": "text/plain",
        "Set-Cookie": MASK,
        "X-Api-Key": MASK,
    }
    # Not JSON: silk's raw copy only.
    assert rows.responses[0]["body"] == ""
    assert base64.b64decode(rows.responses[0]["raw_body"]) == b"plain text"


@pytest.mark.django_db
def test_staff_see_the_request_and_its_statements_on_silk_pages(
    client, alice, bob, token, recording
):
    _list(client, token)
    recorded = SilkRequest.objects.get()
    statement = SQLQuery.objects.filter(request=recorded).order_by("identifier")[0]
    pages = [
        "/silk/",
        "/silk/requests/",
        f"/silk/request/{recorded.id}/",
        f"/silk/request/{recorded.id}/sql/",
        f"/silk/request/{recorded.id}/sql/{statement.id}/",
    ]
    bob.is_staff = True
    bob.save()
    client.force_login(bob)

    answers = {page: client.get(page) for page in pages}

    assert {page: r.status_code for page, r in answers.items()} == dict.fromkeys(
        pages, 200
    )
    assert "/api/v1/contacts" in answers["/silk/requests/"].content.decode()
    sql_page = answers[f"/silk/request/{recorded.id}/sql/"].content.decode()
    assert sql_page.count("authtoken_token") >= 1
    assert "contacts_contact" in sql_page
    detail = answers[f"/silk/request/{recorded.id}/sql/{statement.id}/"]
    assert "rest_framework/authentication.py" in detail.content.decode()


@pytest.mark.django_db
def test_non_staff_get_none_of_the_silk_pages(client, alice, token, recording):
    _list(client, token)
    recorded = SilkRequest.objects.get()
    client.force_login(alice)

    for page in (
        "/silk/",
        "/silk/requests/",
        f"/silk/request/{recorded.id}/",
        f"/silk/request/{recorded.id}/sql/",
    ):
        assert client.get(page).status_code in (302, 403), page
    # Its own visits to silk are not recorded either.
    assert SilkRequest.objects.count() == 1


@pytest.mark.django_db
def test_buffered_requests_wait_for_a_flush(client, token, in_batches, settings):
    settings.SILK_RECORDER_BATCH_SIZE = 10

    for _ in range(3):
        _list(client, token)

    assert SilkRequest.objects.count() == 0
    assert in_batches.flush() == 3
    assert SilkRequest.objects.count() == 3
    assert SQLQuery.objects.count() == 9


@pytest.mark.django_db
def test_a_full_buffer_drops_requests_counts_and_warns(
    client, token, in_batches, settings, caplog
):
    settings.SILK_RECORDER_BATCH_SIZE = 10
    settings.SILK_RECORDER_MAX_PENDING = 2
    dropped = in_batches.stats.dropped

    for _ in range(3):
        _list(client, token)
    with caplog.at_level(logging.WARNING, logger="crm.silk_recorder.writer"):
        assert in_batches.flush() == 2

    assert in_batches.stats.dropped == dropped + 1
    assert SilkRequest.objects.count() == 2
    assert [r.dropped for r in caplog.records] == [1]


@pytest.mark.django_db
def test_a_batch_that_fails_is_logged_and_the_client_still_answered(
    client, token, recording, monkeypatch, caplog
):
    def broken(self, connection, rows):
        raise RuntimeError("database is down")

    monkeypatch.setattr(tables.TableInserter, "insert", broken)
    failed = recording_writer().stats.failed

    with caplog.at_level(logging.ERROR, logger="crm.silk_recorder.writer"):
        response = _list(client, token)

    assert response.status_code == 200
    assert recording_writer().stats.failed == failed + 1
    assert [r.getMessage() for r in caplog.records] == ["silk recorder lost a batch"]
    assert SilkRequest.objects.count() == 0


@pytest.mark.django_db
def test_a_batch_costs_the_same_statements_whatever_its_size(
    client, token, in_batches, settings
):
    settings.SILK_RECORDER_BATCH_SIZE = 100
    _list(client, token)
    in_batches.flush()  # the first batch of a process looks up lz4 on PostgreSQL
    sent = []
    for size in (1, 6):
        for _ in range(size):
            _list(client, token)
        before = in_batches.stats.statements
        assert in_batches.flush() == size
        sent.append(in_batches.stats.statements - before)

    assert sent[0] == sent[1]
    if connection.vendor == "sqlite":
        # Three INSERTs and silk's garbage collection.
        assert sent == [4, 4]


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_writes_a_full_batch(client, token, in_batches):
    for _ in range(2):
        _list(client, token)

    # Waits for the thread, at most ten seconds; no timing is asserted.
    deadline = time.monotonic() + 10
    while SilkRequest.objects.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert SilkRequest.objects.count() == 2
    assert SQLQuery.objects.count() == 6


@pytest.mark.django_db
def test_stopping_writes_what_is_buffered(client, token, in_batches, settings):
    settings.SILK_RECORDER_BATCH_SIZE = 10
    _list(client, token)

    in_batches.stop()

    assert SilkRequest.objects.count() == 1


@pytest.mark.django_db
def test_multipart_bodies_are_not_read_as_silk_does(client, recording):
    client.post("/api/v1/nowhere", {"password": "in-a-form", "name": "Ann"})

    recorded = SilkRequest.objects.get(path="/api/v1/nowhere")
    assert recorded.body == ""
    assert recorded.raw_body == (
        "Raw body not available for multipart_form data, "
        "Silk is not showing file uploads."
    )


@pytest.mark.django_db
def test_no_statement_hook_is_left_behind(client, token, recording):
    _list(client, token)

    assert connection.execute_wrappers == []


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_writes_a_lone_request_when_it_is_due(
    client, token, in_batches, settings
):
    settings.SILK_RECORDER_BATCH_SIZE = 10
    settings.SILK_RECORDER_FLUSH_SECONDS = 0.05
    in_batches.flush()  # the thread is idle, waiting for a first request

    _list(client, token)

    deadline = time.monotonic() + 10
    while not SilkRequest.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert SilkRequest.objects.count() == 1


@pytest.mark.django_db
def test_old_requests_are_cleaned_once_a_batch_passes_the_cap(
    client, token, in_batches, settings, monkeypatch
):
    from silk.config import SilkyConfig

    # silk reads its settings once; its garbage collection keeps the cap
    # minus 100 / SILKY_MAX_RECORDED_REQUESTS_CHECK_PERCENT (10) requests.
    monkeypatch.setitem(SilkyConfig().attrs, "SILKY_MAX_RECORDED_REQUESTS", 13)
    settings.SILK_RECORDER_BATCH_SIZE = 10
    for page_size in range(1, 6):
        _list(client, token, f"?page_size={page_size}")

    assert in_batches.flush() == 5

    kept = SilkRequest.objects.values_list("query_params", flat=True)
    assert sorted(json.loads(q)["page_size"] for q in kept) == ["3", "4", "5"]
    assert SQLQuery.objects.count() == 9
