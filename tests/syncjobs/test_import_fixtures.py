"""import_file on the real exports: format detection, what lands, dry runs, cost.

The exports are the files in ../shared/fixtures, read in place; the large
inputs of the query-count tests are generated here.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile

import pytest
from django.db import connection

from contacts.models import Contact, ContactEmail, Interaction
from contacts.services import BULK_BATCH_SIZE
from syncjobs import services
from syncjobs.importers import UnknownFormat, detect_format
from syncjobs.models import SyncLock, SyncRun
from syncjobs.services import import_file
from tests.conftest import shared_fixture

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.fixtures


# --- format detection --------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        ("mbox/takeoutreader-sample-x-gmail-labels.mbox", "mbox"),
        ("eml/partially-encoded-subject-euc-kr-mbox-from.eml", "eml"),
        ("vcard/eds-12-v21-qp-soft-breaks.vcf", "vcard"),
        ("google-contacts-csv/google-csv-legacy-format.csv", "google_csv"),
        ("google-contacts-csv/google-csv-2024-format-noyear-bday.csv", "google_csv"),
        (
            "google-contacts-csv/constellation-google-csv-minimal-columns.csv",
            "google_csv",
        ),
        (
            "linkedin-connections-csv/connections-2018-no-url-datetime.csv",
            "linkedin_connections",
        ),
        (
            "linkedin-connections-csv/connections-2024-notes-preamble.csv",
            "linkedin_connections",
        ),
        ("linkedin-messages-csv/messages-2023-10col.csv", "linkedin_messages"),
        (
            "linkedin-messages-csv/messages-2025-12col-group-draft.csv",
            "linkedin_messages",
        ),
        ("twitter-archive/archive-1", "twitter_archive"),
        ("twitter-archive/archive-2/direct-messages.js", "twitter_archive"),
    ],
)
def test_it_detects_each_export_format(relative, expected):
    assert detect_format(shared_fixture(relative)) == expected


def test_a_zip_with_direct_messages_is_an_x_archive(alice, tmp_path):
    archive = tmp_path / "twitter-2023.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        source = shared_fixture("twitter-archive/archive-2")
        for name in ("account.js", "direct-messages.js"):
            zipped.write(source / name, f"data/{name}")

    assert detect_format(archive) == "twitter_archive"
    report = import_file(owner=alice, path=archive, now=NOW)
    assert (report.fetched, report.created, report.failed) == (27, 33, 0)


def test_a_file_without_a_known_extension_is_sniffed(tmp_path):
    cards = tmp_path / "contacts.txt"
    cards.write_bytes(
        shared_fixture("vcard/ezvcard-android-v21-multi.vcf").read_bytes()
    )
    mail = tmp_path / "saved-message"
    mail.write_bytes(
        shared_fixture(
            "eml/mailparser-test18-rfc2047-comma-in-display-name.eml"
        ).read_bytes()
    )

    assert (detect_format(cards), detect_format(mail)) == ("vcard", "eml")


def test_a_csv_with_an_unknown_header_is_refused(tmp_path):
    other = tmp_path / "budget.csv"
    other.write_text("Month,Rent,Food\nJanuary,900,300\n")

    with pytest.raises(
        UnknownFormat, match=re.escape("budget.csv: a CSV file whose header")
    ):
        detect_format(other)


def test_a_folder_without_direct_messages_is_refused(tmp_path):
    with pytest.raises(
        UnknownFormat, match=re.escape("a folder without direct-messages.js")
    ):
        detect_format(tmp_path)


# --- what an import writes ---------------------------------------------------


def contacts_of(owner) -> list[tuple]:
    return list(
        Contact.objects.filter(owner=owner)
        .order_by("full_name", "emails")
        .values_list("full_name", "emails", "birthday", "birthday_year_known", "source")
    )


def test_a_google_csv_import_keeps_birthdays_with_and_without_a_year(alice):
    report = import_file(
        owner=alice,
        path=shared_fixture(
            "google-contacts-csv/google-csv-2024-format-noyear-bday.csv"
        ),
        now=NOW,
    )

    assert contacts_of(alice) == [
        ("Bob Smith", ["bob.smith@globex.example"], dt.date(1604, 12, 1), False, "csv"),
        ("Chloé Van Damme, Jr.", ["chloe@vandamme.example"], None, True, "csv"),
        (
            "Jane Doe",
            ["jane.doe@acme.example", "jane@personal.example"],
            dt.date(1988, 6, 15),
            True,
            "csv",
        ),
    ]
    assert [(w.position, w.reason) for w in report.warnings] == [
        (
            "line 4",
            "the row has 26 fields but the header has 25; the extra fields are ignored",
        )
    ]
    assert ContactEmail.objects.filter(owner=alice).count() == 4


def test_a_vcard_import_reads_quoted_printable_names_and_year_less_birthdays(alice):
    import_file(owner=alice, path=shared_fixture("vcard/eds-12-v21-qp-soft-breaks.vcf"))
    import_file(
        owner=alice, path=shared_fixture("vcard/ezvcard-rfc6350-example-v4.vcf")
    )

    assert contacts_of(alice) == [
        (
            "Matthias Brückner",
            ["ext-Matthias.Brueckner@example.com"],
            dt.date(1978, 12, 29),
            True,
            "vcard",
        ),
        (
            "Sam Pelletier",
            ["sam.pelletier@example.ca"],
            dt.date(1604, 2, 3),
            False,
            "vcard",
        ),
    ]


def test_an_mbox_import_creates_each_counterpart_once_with_their_mail(alice):
    report = import_file(
        owner=alice,
        path=shared_fixture("mbox/mail-contacts-sample-rfc2047-cc-exchange-dn.mbox"),
        now=NOW,
    )

    rows = (
        Contact.objects.filter(owner=alice)
        .order_by("emails")
        .values_list("full_name", "emails", "interaction_count", "last_interaction_at")
    )
    assert list(rows) == [
        (
            "DURAND Alice",
            ["alice.durand@fournisseur-exemple.fr"],
            2,
            dt.datetime(2026, 3, 5, 15, 30, tzinfo=dt.UTC),
        ),
        (
            "Camille Martin",
            ["camille.martin@mon-entreprise.example"],
            1,
            dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC),
        ),
        (
            "Service Notifications",
            ["no-reply@outil-exemple.com"],
            1,
            dt.datetime(2026, 3, 6, 7, 0, tzinfo=dt.UTC),
        ),
        (
            None,
            ["paul.petit@client-exemple.com"],
            1,
            dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC),
        ),
    ]
    assert (report.created, report.rescored) == (9, 4)
    assert set(Interaction.objects.values_list("platform", flat=True)) == {"email"}


def test_an_x_archive_import_creates_a_contact_for_each_counterpart_id(alice):
    report = import_file(owner=alice, path=shared_fixture("twitter-archive/archive-2"))

    assert sorted(
        Contact.objects.filter(owner=alice).values_list(
            "twitter_user_id", "source", "interaction_count"
        )
    ) == [
        ("381446694", "twitter", 5),
        ("5257116304038154719", "twitter", 3),
        ("6759770792", "twitter", 8),
        ("810190", "twitter", 2),
        ("8543378", "twitter", 6),
        ("9904814", "twitter", 3),
    ]
    assert (
        report.details["contacts_created"],
        report.details["interactions_created"],
    ) == (
        6,
        27,
    )


def test_each_bad_record_is_reported_with_its_position_and_reason(alice):
    report = import_file(
        owner=alice,
        path=shared_fixture(
            "linkedin-connections-csv/connections-2024-notes-preamble.csv"
        ),
    )

    assert [(p.position, p.reason) for p in report.problems] == [
        ("line 67", "no name and no profile URL")
    ]
    assert (report.fetched, report.created, report.failed) == (75, 74, 1)
    assert report.run.status == "partial"
    assert report.run.details["problems"][0] == {
        "position": "line 67",
        "reason": "no name and no profile URL",
        "kind": "error",
    }


def test_a_name_only_vcard_imported_twice_creates_its_contacts_once(alice):
    path = shared_fixture("vcard/largefile-1000-cards.vcf")

    first = import_file(owner=alice, path=path)
    second = import_file(owner=alice, path=path)

    assert (first.created, second.created, second.skipped) == (1000, 0, 1000)
    assert Contact.objects.filter(owner=alice).count() == 1000


def test_an_import_that_fails_midway_writes_nothing_but_its_failed_run(
    alice, monkeypatch
):
    def broken(**kwargs):
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(services, "interactions_upsert", broken)

    with pytest.raises(RuntimeError):
        import_file(
            owner=alice,
            path=shared_fixture("mbox/takeoutreader-sample-x-gmail-labels.mbox"),
        )

    assert Contact.objects.count() == 0
    run = SyncRun.objects.get()
    assert (run.platform, run.sync_type, run.status, run.error_message) == (
        "import",
        "import",
        "failed",
        "RuntimeError: disk I/O error",
    )
    assert run.details["format"] == "mbox"


# --- dry runs ----------------------------------------------------------------


def table_counts() -> dict[str, int]:
    return {
        "contacts": Contact.objects.count(),
        "emails": ContactEmail.objects.count(),
        "interactions": Interaction.objects.count(),
        "runs": SyncRun.objects.count(),
        "locks": SyncLock.objects.count(),
    }


@pytest.mark.parametrize(
    "relative",
    [
        "mbox/mail-contacts-sample-rfc2047-cc-exchange-dn.mbox",
        "vcard/ezvcard-android-v21-multi.vcf",
        "google-contacts-csv/google-csv-legacy-format.csv",
        "linkedin-messages-csv/messages-2023-10col.csv",
        "twitter-archive/archive-1",
    ],
)
def test_a_dry_run_writes_nothing_and_reports_the_real_imports_counts(alice, relative):
    path = shared_fixture(relative)
    before = table_counts()

    dry = import_file(owner=alice, path=path, dry_run=True, now=NOW)

    assert table_counts() == before
    assert dry.run is None
    real = import_file(owner=alice, path=path, now=NOW)
    assert (
        dry.fetched,
        dry.created,
        dry.updated,
        dry.skipped,
        dry.failed,
        dry.rescored,
    ) == (
        real.fetched,
        real.created,
        real.updated,
        real.skipped,
        real.failed,
        real.rescored,
    )
    assert [(p.position, p.reason) for p in dry.problems] == [
        (p.position, p.reason) for p in real.problems
    ]
    assert dry.details["contacts_created"] == real.details["contacts_created"]


def test_a_dry_run_after_an_import_would_create_nothing(alice):
    path = shared_fixture("mbox/takeoutreader-sample-x-gmail-labels.mbox")
    import_file(owner=alice, path=path)

    dry = import_file(owner=alice, path=path, dry_run=True)

    assert (dry.created, dry.updated, dry.skipped) == (0, 0, 6)


# --- cost: one statement per batch, never per row ----------------------------


def vcards(count: int) -> str:
    return "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {n}\r\nN:{n};Person;;;\r\n"
        f"EMAIL:person{n}@example.com\r\nEND:VCARD\r\n"
        for n in range(count)
    )


def mbox(count: int) -> str:
    return "".join(
        f"From person{n}@example.com Mon Jan  1 10:00:00 2026\n"
        f"From: Person {n} <person{n}@example.com>\n"
        "To: Alice Owner <alice@example.com>\n"
        f"Date: Thu, 1 Jan 2026 10:{n % 60:02d}:00 +0000\n"
        f"Message-ID: <m{n}@example.com>\n"
        "Subject: hello\n\nbody\n\n"
        for n in range(count)
    )


def insert_batches(model, rows: int) -> int:
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    per_statement = min(
        BULK_BATCH_SIZE, connection.ops.bulk_batch_size(fields, [model()] * rows)
    )
    return math.ceil(rows / per_statement)


def import_queries(owner, tmp_path, name: str, text: str) -> int:
    path = tmp_path / name
    path.write_text(text)
    return import_file(owner=owner, path=path, now=NOW).query_count


def test_a_vcard_import_grows_by_whole_batches_not_by_rows(alice, bob, tmp_path):
    small = import_queries(alice, tmp_path, "small.vcf", vcards(50))
    large = import_queries(bob, tmp_path, "large.vcf", vcards(2000))

    # Per batch: the INSERT of contacts, of their emails, and the email
    # lookup that matches them (1,000 addresses per IN list).
    extra_batches = (
        insert_batches(Contact, 2000)
        - insert_batches(Contact, 50)
        + insert_batches(ContactEmail, 2000)
        - insert_batches(ContactEmail, 50)
        + math.ceil(2000 / BULK_BATCH_SIZE)
        - 1
    )
    assert large - small <= extra_batches
    assert large < 2000 / 10


def test_an_mbox_import_grows_by_whole_batches_not_by_rows(alice, bob, tmp_path):
    small = import_queries(alice, tmp_path, "small.mbox", mbox(50))
    large = import_queries(bob, tmp_path, "large.mbox", mbox(2000))

    assert large - small < 2000 / 10


def test_with_full_size_batches_2000_cards_cost_three_statements_more_than_50(
    alice, bob, tmp_path
):
    small = import_queries(alice, tmp_path, "small.vcf", vcards(50))
    large = import_queries(bob, tmp_path, "large.vcf", vcards(2000))

    # One more INSERT of contacts, of emails, and one more email lookup.
    assert large - small == 3


def test_with_full_size_batches_2000_messages_cost_a_few_statements_more_than_50(
    alice, bob, tmp_path
):
    small = import_queries(alice, tmp_path, "small.mbox", mbox(50))
    large = import_queries(bob, tmp_path, "large.mbox", mbox(2000))

    assert large - small <= 8
