"""Uploading export files: the same import path as the command, a size cap, dry runs."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from contacts.models import Contact, Interaction
from syncjobs.models import SyncRun
from tests.accounts.clients import error_message, web_client
from tests.conftest import REPO_ROOT, shared_fixture

pytestmark = pytest.mark.django_db

SAMPLE = REPO_ROOT / "sample"
THREE_CARDS = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Roe\r\nN:Roe;Ann;;;\r\n"
    b"EMAIL:ann@example.org\r\nBDAY:1990-04-12\r\nEND:VCARD\r\n"
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:;;;;\r\nEND:VCARD\r\n"
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:J\xc3\xb6rg Doe\r\n"
    b"EMAIL:j.doe@example.com\r\nEND:VCARD\r\n"
)


def upload(client, kind: str, name: str, content: bytes, **query):
    url = f"/api/v1/contacts/import/{kind}"
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return client.post(
        url, {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )


def test_a_vcard_upload_imports_the_good_cards_and_names_the_bad_one(alice):
    response = upload(web_client(alice), "vcard", "contacts.vcf", THREE_CARDS)

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["format"] == "vcard"
    assert data["dry_run"] is False
    assert (data["fetched"], data["created"], data["failed"]) == (3, 2, 1)
    assert data["problems"] == [
        {
            "position": "card #2 (line 8)",
            "reason": "the card has no name, email or phone",
        }
    ]
    assert data["errors"] == ["card #2 (line 8): the card has no name, email or phone"]
    contacts = Contact.objects.filter(owner=alice).order_by("full_name")
    assert [
        (c.full_name, c.emails, c.birthday and c.birthday.isoformat()) for c in contacts
    ] == [
        ("Ann Roe", ["ann@example.org"], "1990-04-12"),
        ("Jörg Doe", ["j.doe@example.com"], None),
    ]
    run = SyncRun.objects.get(pk=data["run_id"])
    assert (run.owner_id, run.platform, run.sync_type, run.records_created) == (
        alice.pk,
        "import",
        "import",
        2,
    )


def test_a_dry_run_reports_the_same_counts_and_writes_nothing(alice):
    response = upload(
        web_client(alice), "vcard", "contacts.vcf", THREE_CARDS, dry_run="true"
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["dry_run"], data["run_id"]) == (True, None)
    assert (data["fetched"], data["created"], data["failed"]) == (3, 2, 1)
    assert not Contact.objects.exists()
    assert not SyncRun.objects.exists()


def test_an_oversized_upload_is_refused_and_imports_nothing(alice, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 64

    response = upload(web_client(alice), "vcard", "contacts.vcf", THREE_CARDS)

    assert response.status_code == 400
    assert error_message(response) == "File too large (max 64 bytes)"
    assert response.json()["error"]["code"] == "file_too_large"
    assert not Contact.objects.exists()


def test_a_declared_body_far_over_the_limit_is_refused_before_it_is_read(
    alice, settings
):
    settings.IMPORT_MAX_UPLOAD_BYTES = 64
    client = web_client(alice)

    response = client.generic(
        "POST",
        "/api/v1/contacts/import/vcard",
        b"x" * 200_000,
        content_type="multipart/form-data; boundary=BoUnDaRy",
    )

    assert response.status_code == 400
    assert error_message(response) == "File too large (max 64 bytes)"


def test_an_upload_without_a_file_is_a_400(alice):
    response = web_client(alice).post(
        "/api/v1/contacts/import/vcard", {}, format="multipart"
    )

    assert response.status_code == 400
    assert error_message(response) == (
        "file: no file uploaded (multipart field 'file')"
    )


def test_the_csv_endpoint_reads_a_google_contacts_export(alice):
    content = (SAMPLE / "google-contacts.csv").read_bytes()

    data = upload(web_client(alice), "csv", "contacts.csv", content).json()["data"]

    assert (data["format"], data["fetched"], data["created"]) == ("google_csv", 14, 14)
    assert Contact.objects.filter(owner=alice).count() == 14
    maya = Contact.objects.get(owner=alice, emails=["maya.patel@example.in"])
    assert (maya.full_name, maya.company, maya.birthday.isoformat()) == (
        "Maya Patel",
        "Patel Health",
        "1993-07-08",
    )


def test_the_csv_endpoint_tells_a_linkedin_export_by_its_header(alice):
    content = (SAMPLE / "linkedin-export" / "Connections.csv").read_bytes()

    data = upload(web_client(alice), "csv", "Connections.csv", content).json()["data"]

    assert data["format"] == "linkedin_connections"


def test_the_csv_endpoint_refuses_a_csv_that_is_no_known_export(alice):
    response = upload(web_client(alice), "csv", "x.csv", b"colour,size\nred,3\n")

    assert response.status_code == 400
    assert error_message(response).startswith(
        "file: not a Google Contacts or LinkedIn CSV export"
    )


def test_linkedin_connections_then_messages_link_messages_to_the_people(alice):
    client = web_client(alice)
    connections = (SAMPLE / "linkedin-export" / "Connections.csv").read_bytes()
    messages = (SAMPLE / "linkedin-export" / "messages.csv").read_bytes()

    first = upload(client, "linkedin", "Connections.csv", connections).json()["data"]
    second = upload(client, "linkedin-messages", "messages.csv", messages).json()[
        "data"
    ]

    assert (first["format"], first["fetched"], first["created"]) == (
        "linkedin_connections",
        13,
        13,
    )
    assert (second["format"], second["fetched"]) == ("linkedin_messages", 24)
    assert second["details"]["contacts_created"] == 0
    assert second["details"]["interactions_created"] == 24
    assert Interaction.objects.filter(owner=alice, platform="linkedin").count() == 24


def test_an_mbox_upload_becomes_email_interactions(alice):
    content = (SAMPLE / "mail.mbox").read_bytes()

    data = upload(web_client(alice), "mbox", "mail.mbox", content).json()["data"]

    assert (data["format"], data["fetched"]) == ("mbox", 208)
    assert data["details"]["interactions_created"] == 208
    assert data["details"]["contacts_created"] == 25
    assert Interaction.objects.filter(owner=alice, platform="email").count() == 208


def test_a_zipped_x_archive_upload_imports_its_direct_messages(alice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((SAMPLE / "twitter-archive" / "data").iterdir()):
            archive.write(path, f"data/{path.name}")

    response = upload(
        web_client(alice), "twitter-archive", "twitter-2026.zip", buffer.getvalue()
    )

    data = response.json()["data"]
    assert (data["format"], data["fetched"]) == ("twitter_archive", 16)
    assert data["details"]["contacts_created"] == 4
    assert data["details"]["interactions_created"] == 16
    assert Interaction.objects.filter(owner=alice, platform="twitter").count() == 16


@pytest.mark.fixtures
def test_a_real_android_vcard_export_imports_through_the_upload(alice):
    content = shared_fixture("vcard/ezvcard-android-v21-multi.vcf").read_bytes()

    data = upload(web_client(alice), "vcard", "android.vcf", content).json()["data"]

    assert (data["fetched"], data["created"], data["failed"]) == (6, 6, 0)
    assert data["warnings_total"] == 2
    assert Contact.objects.filter(owner=alice).count() == 6


def test_the_upload_run_shows_up_in_the_sync_history(alice, bob):
    upload(web_client(alice), "vcard", "contacts.vcf", THREE_CARDS)

    mine = web_client(alice).get("/api/v1/sync-history").json()
    bobs = web_client(bob).get("/api/v1/sync-history").json()

    assert [(r["platform"], r["records_created"]) for r in mine["data"]] == [
        ("import", 2)
    ]
    assert bobs["data"] == []


def test_uploads_need_a_web_token():
    response = APIClient().post(
        "/api/v1/contacts/import/vcard",
        {"file": SimpleUploadedFile("c.vcf", THREE_CARDS)},
        format="multipart",
    )

    assert response.status_code == 401
    assert not Contact.objects.exists()
