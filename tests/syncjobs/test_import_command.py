"""The import_export, sync and rescore commands: arguments in, summary out."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
import responses
from django.core.management import CommandError, call_command

from contacts.models import Contact, Interaction
from syncjobs.models import ProviderAccount, SyncRun
from tests.conftest import shared_fixture

RECORDED = Path(__file__).parent / "recorded" / "twitter"
X_API = "https://api.twitter.com/2"
X_ME = "2244994945"


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def table_row(output: str, label: str) -> list[str]:
    """Return the cells of the summary row that starts with ``label``."""
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if cells and cells[0] == label:
            return cells
    raise AssertionError(f"no {label!r} row in:\n{output}")


# --- import_export -----------------------------------------------------------


@pytest.mark.fixtures
def test_it_imports_a_file_and_prints_the_counts_and_each_problem(alice):
    path = shared_fixture(
        "linkedin-connections-csv/connections-2024-notes-preamble.csv"
    )

    output = run_command("import_export", str(path), "--user", "alice@example.com")

    assert "(linkedin_connections): what were imported" in output
    assert table_row(output, "read") == ["read", "75"]
    assert table_row(output, "created") == ["created", "74"]
    assert table_row(output, "updated") == ["updated", "0"]
    assert table_row(output, "skipped") == ["skipped", "0"]
    assert table_row(output, "failed") == ["failed", "1"]
    assert table_row(output, "error") == [
        "error",
        "line 67",
        "no name and no profile URL",
    ]
    run = SyncRun.objects.get()
    assert f"sync run {run.pk}: partial" in output
    assert Contact.objects.filter(owner=alice).count() == 74


@pytest.mark.fixtures
def test_a_dry_run_prints_what_would_be_imported_and_writes_nothing(alice):
    path = shared_fixture("mbox/takeoutreader-sample-x-gmail-labels.mbox")

    output = run_command(
        "import_export", str(path), "--user", "alice@example.com", "--dry-run"
    )

    assert "(mbox): what would be imported" in output
    assert table_row(output, "created") == ["created", "6"]
    assert "dry run: nothing was written" in output
    assert (
        Contact.objects.count(),
        Interaction.objects.count(),
        SyncRun.objects.count(),
    ) == (
        0,
        0,
        0,
    )


@pytest.mark.fixtures
def test_the_format_option_skips_detection(alice, tmp_path):
    cards = tmp_path / "phone-backup.dat"
    cards.write_bytes(
        shared_fixture("vcard/leapsake-ios-probe-dates-v3.vcf").read_bytes()
    )

    output = run_command(
        "import_export", str(cards), "--user", "alice@example.com", "--format", "vcard"
    )

    assert table_row(output, "created") == ["created", "7"]


@pytest.mark.fixtures
def test_the_only_user_is_the_default_owner(alice):
    path = shared_fixture("vcard/eds-12-v21-qp-soft-breaks.vcf")

    run_command("import_export", str(path))

    assert list(Contact.objects.values_list("owner__email", "full_name")) == [
        ("alice@example.com", "Matthias Brückner")
    ]


@pytest.mark.fixtures
def test_with_several_users_the_owner_must_be_named(alice, bob):
    path = shared_fixture("vcard/eds-12-v21-qp-soft-breaks.vcf")

    with pytest.raises(CommandError, match="pass --user EMAIL"):
        run_command("import_export", str(path))


def test_a_file_in_no_known_format_is_refused(alice, tmp_path):
    notes = tmp_path / "notes.csv"
    notes.write_text("Title,Body\nshopping,milk\n")

    with pytest.raises(
        CommandError, match="a CSV file whose header is not a known export"
    ):
        run_command("import_export", str(notes), "--user", "alice@example.com")

    assert SyncRun.objects.count() == 0


# --- sync --------------------------------------------------------------------


def x_account(owner) -> ProviderAccount:
    return ProviderAccount.objects.create(
        owner=owner, kind="twitter", account_id=X_ME, access_token="user-context-token"
    )


@pytest.mark.fixtures
def test_the_sync_command_runs_one_provider_and_prints_its_run(alice):
    account = x_account(alice)
    first_page = json.loads(
        shared_fixture(
            "twitter-api-v2/docs-x-dm-events-quickstart-response.json"
        ).read_text()
    )

    with responses.RequestsMock() as mock:
        mock.get(f"{X_API}/dm_events", json=first_page)
        mock.get(
            f"{X_API}/dm_events",
            json=json.loads((RECORDED / "dm-events-page2.json").read_text()),
        )
        mock.get(
            f"{X_API}/users/{X_ME}/mentions",
            json=json.loads((RECORDED / "empty-page.json").read_text()),
        )
        mock.get(
            f"{X_API}/users",
            json=json.loads((RECORDED / "users-lookup.json").read_text()),
        )
        output = run_command("sync", "twitter", "--user", "alice@example.com")

    run = SyncRun.objects.get()
    assert (run.platform, run.sync_type, run.account_id) == (
        "twitter",
        "manual",
        account.pk,
    )
    assert output.startswith(
        f"twitter:{X_ME}: success - read 4, created 6, updated 0, skipped 0, failed 0, "
        f"rescored 2, {run.query_count} queries"
    )


def test_a_rate_limited_sync_asks_to_try_again_later(alice):
    x_account(alice)

    with responses.RequestsMock() as mock:
        mock.get(
            f"{X_API}/dm_events",
            json=json.loads((RECORDED / "error-429.json").read_text()),
            status=429,
            headers={"x-rate-limit-reset": "1706792400"},
        )
        with pytest.raises(CommandError, match=r"\(try again later\)"):
            run_command("sync", "twitter", "--user", "alice@example.com")

    assert SyncRun.objects.get().status == "partial"


def test_a_user_without_an_account_for_the_provider_is_told_so(alice):
    with pytest.raises(
        CommandError,
        match=re.escape("alice@example.com has no account that gmail can use"),
    ):
        run_command("sync", "gmail", "--user", "alice@example.com")


# --- rescore -----------------------------------------------------------------


def test_the_rescore_command_prints_rescored_changed_and_queries_per_user(alice, bob):
    Contact.objects.create(owner=alice, full_name="stale", relationship_score=6)
    Contact.objects.create(owner=alice, full_name="fine")

    output = run_command("rescore", "--user", "alice@example.com")

    run = SyncRun.objects.get()
    assert (run.platform, run.sync_type, run.owner_id) == (
        "scoring",
        "manual",
        alice.pk,
    )
    assert table_row(output, "alice@example.com") == [
        "alice@example.com",
        "success",
        "2",
        "1",
        str(run.query_count),
    ]
    assert Contact.objects.get(full_name="stale").relationship_score == 0


def test_the_rescore_command_without_a_user_rescores_everyone(alice, bob):
    output = run_command("rescore")

    assert SyncRun.objects.filter(platform="scoring").count() == 2
    assert table_row(output, "bob@example.com")[:2] == ["bob@example.com", "success"]


def test_a_file_that_is_not_csv_is_an_unknown_format_not_a_crash(tmp_path):
    from syncjobs.importers import UnknownFormat, detect_format

    path = tmp_path / "picture.csv"
    path.write_bytes(b'\x89PNG\r\n\x1a\nIHDR a,b\rc"d\r\n\x00\x01')
    with pytest.raises(UnknownFormat, match=r"picture\.csv"):
        detect_format(path)
