"""mbox and .eml imports: every shared fixture, message by message."""

from __future__ import annotations

import datetime as dt

import pytest

from syncjobs.imports.mail import parse_eml, parse_mail_bytes, parse_mbox, split_mbox
from syncjobs.records import ContactRecord, Participant, RecordProblem
from tests.conftest import shared_fixture

NONE = frozenset()


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def people(record) -> list[tuple[str, str]]:
    return [(p.email, p.name) for p in record.participants]


# --- mbox fixtures ----------------------------------------------------------


@pytest.mark.fixtures
def test_it_reads_one_message_when_the_body_has_an_unescaped_from_line():
    result = parse_mbox(
        shared_fixture("mbox/cpython-mailbox_01-unquoted-from-extra-info.mbox"),
        own_addresses=NONE,
    )

    assert result.items_read == 1
    # "From: foo" has no address, so the single message is reported, not kept.
    assert result.interactions == []
    assert result.contacts == []
    assert result.errors == [
        RecordProblem("message #1 (line 1)", "no sender address in From: 'foo'")
    ]


@pytest.mark.fixtures
def test_it_reads_the_crm_sample_with_cc_mixed_case_and_an_exchange_dn():
    result = parse_mbox(
        shared_fixture("mbox/mail-contacts-sample-rfc2047-cc-exchange-dn.mbox"),
        own_addresses=frozenset({"Camille.Martin@mon-entreprise.example"}),
    )

    assert result.items_read == 5
    assert result.errors == []
    assert result.warnings == []
    assert [i.position for i in result.interactions] == [
        "message #1 (line 1)",
        "message #2 (line 18)",
        "message #3 (line 30)",
        "message #4 (line 45)",
        "message #5 (line 53)",
    ]
    assert [i.direction for i in result.interactions] == [
        "inbound",
        "outbound",
        "inbound",
        "inbound",
        "inbound",
    ]
    assert [people(i) for i in result.interactions] == [
        [("alice.durand@fournisseur-exemple.fr", "DURAND Alice")],
        [
            ("alice.durand@fournisseur-exemple.fr", ""),
            ("bob.leroy@example.com", "Bob Leroy"),
            ("contact@fournisseur-exemple.fr", ""),
        ],
        # Same person, other spelling of the address: normalised to one.
        [("alice.durand@fournisseur-exemple.fr", "Alice Durand")],
        [("no-reply@outil-exemple.com", "Service Notifications")],
        # An X.500 DN is no person's name.
        [("paul.petit@client-exemple.com", "")],
    ]
    assert [i.occurred_at for i in result.interactions] == [
        utc(2026, 3, 2, 8, 15),
        utc(2026, 3, 3, 9, 0),
        utc(2026, 3, 5, 15, 30),
        utc(2026, 3, 6, 7, 0),
        utc(2026, 1, 5, 7, 0),
    ]
    assert [i.content_preview for i in result.interactions] == [
        "Devis pour la commande 42",
        "Re: Devis pour la commande 42",
        "Livraison",
        "Votre rapport hebdomadaire",
        "Ancien message",
    ]
    # No Message-ID anywhere in this file: every key is the header hash.
    references = [i.reference_id for i in result.interactions]
    assert all(ref.startswith("email:hash-") for ref in references)
    assert len(set(references)) == 5
    assert all(i.platform == "email" and i.per_contact for i in result.interactions)

    assert result.contacts == [
        ContactRecord(
            source="mbox",
            position="message #1 (line 1)",
            full_name="DURAND Alice",
            emails=("alice.durand@fournisseur-exemple.fr",),
        ),
        ContactRecord(
            source="mbox",
            position="message #2 (line 18)",
            full_name="Bob Leroy",
            emails=("bob.leroy@example.com",),
        ),
        ContactRecord(
            source="mbox",
            position="message #2 (line 18)",
            emails=("contact@fournisseur-exemple.fr",),
        ),
        ContactRecord(
            source="mbox",
            position="message #4 (line 45)",
            full_name="Service Notifications",
            emails=("no-reply@outil-exemple.com",),
        ),
        ContactRecord(
            source="mbox",
            position="message #5 (line 53)",
            emails=("paul.petit@client-exemple.com",),
        ),
    ]


@pytest.mark.fixtures
def test_it_gives_the_same_hash_keys_when_the_same_file_is_imported_again():
    path = shared_fixture("mbox/mail-contacts-sample-rfc2047-cc-exchange-dn.mbox")
    first = parse_mbox(path, own_addresses=NONE)
    second = parse_mbox(path, own_addresses=NONE)

    assert [i.reference_id for i in first.interactions] == [
        i.reference_id for i in second.interactions
    ]


@pytest.mark.fixtures
def test_it_splits_gmail_takeout_from_lines_into_four_messages():
    result = parse_mbox(
        shared_fixture("mbox/mimekit-issue1189-gmail-takeout-from-lines.mbox"),
        own_addresses=frozenset({"recipient@example.com"}),
    )

    assert result.items_read == 4
    assert result.errors == []
    assert [(i.position, i.direction) for i in result.interactions] == [
        ("message #1 (line 1)", "inbound"),
        ("message #2 (line 22)", "inbound"),
        ("message #3 (line 53)", "inbound"),
        ("message #4 (line 74)", "inbound"),
    ]
    assert [i.reference_id for i in result.interactions] == [
        "email:f092d8d2-8781-469e-a1a6-c938087dc1f4@example.com",
        "email:fb45a588-31d2-48f4-abec-9f0f2accfee7@example.com",
        "email:56fa92a4-2d4c-4a34-b7e2-11282004b7c5@example.com",
        "email:7fbaba61-56f5-4e06-9453-5fbf941593a0@example.com",
    ]
    assert [i.occurred_at for i in result.interactions] == [
        utc(2025, 9, 26, 17, 18, 40),
        utc(2025, 9, 26, 17, 19, 25),
        utc(2025, 9, 26, 17, 19, 39),
        utc(2025, 9, 26, 17, 19, 54),
    ]
    assert [i.content_preview for i in result.interactions] == [
        "Message 1",
        "Message 2",
        "Message 3",
        "Message 4",
    ]
    assert all(
        i.participants == (Participant(email="sender@example.com", name="Sender"),)
        for i in result.interactions
    )
    assert result.contacts == [
        ContactRecord(
            source="mbox",
            position="message #1 (line 1)",
            full_name="Sender",
            emails=("sender@example.com",),
        )
    ]


@pytest.mark.fixtures
def test_it_splits_dash_from_lines_that_follow_a_non_blank_line():
    result = parse_mbox(
        shared_fixture("mbox/mimekit-simple-dash-from-lines-nested-boundaries.mbox"),
        own_addresses=NONE,
    )

    assert result.items_read == 3
    assert result.errors == []
    assert [(i.position, i.direction) for i in result.interactions] == [
        ("message #1 (line 1)", "inbound"),
        ("message #2 (line 25)", "inbound"),
        ("message #3 (line 48)", "inbound"),
    ]
    assert [i.content_preview for i in result.interactions] == [
        "this'll probably break a lot of mime parsers",
        "this'll probably break even more mime parsers",
        "if a mime parser can correctly handle this, I'm impressed",
    ]
    assert all(people(i) == [("jordan@example.org", "")] for i in result.interactions)
    assert all(
        i.occurred_at == utc(2002, 8, 23, 6, 32, 53) for i in result.interactions
    )
    assert len({i.reference_id for i in result.interactions}) == 3
    assert result.contacts == [
        ContactRecord(
            source="mbox",
            position="message #1 (line 1)",
            emails=("jordan@example.org",),
        )
    ]


@pytest.mark.fixtures
def test_it_skips_notes_to_self_with_a_warning():
    result = parse_mbox(
        shared_fixture("mbox/mimekit-simple-dash-from-lines-nested-boundaries.mbox"),
        own_addresses=frozenset({"jordan@example.org"}),
    )

    assert result.items_read == 3
    assert result.interactions == []
    assert result.contacts == []
    assert result.errors == []
    assert result.warnings == [
        RecordProblem(
            "message #1 (line 1)", "no counterpart: only the user's own addresses"
        ),
        RecordProblem(
            "message #2 (line 25)", "no counterpart: only the user's own addresses"
        ),
        RecordProblem(
            "message #3 (line 48)", "no counterpart: only the user's own addresses"
        ),
    ]


@pytest.mark.fixtures
def test_it_uses_the_from_header_not_the_envelope_sender_of_takeout_mail():
    result = parse_mbox(
        shared_fixture("mbox/takeoutreader-sample-x-gmail-labels.mbox"),
        own_addresses=frozenset({"bob@example.com"}),
    )

    assert result.items_read == 3
    assert [
        (i.position, i.direction, i.reference_id, people(i), i.occurred_at)
        for i in result.interactions
    ] == [
        (
            "message #1 (line 1)",
            "inbound",
            "email:test001@example.com",
            [("alice@example.com", "Alice")],
            utc(2024, 1, 1, 11, 0),
        ),
        (
            "message #2 (line 12)",
            "inbound",
            "email:test002@facebook.com",
            [("noreply@facebookmail.com", "Facebook")],
            utc(2024, 1, 2, 7, 0),
        ),
        (
            "message #3 (line 23)",
            "inbound",
            "email:test003@boursorama.com",
            [("alert@boursorama.com", "Boursorama")],
            utc(2024, 1, 3, 9, 0),
        ),
    ]
    assert [c.emails for c in result.contacts] == [
        ("alice@example.com",),
        ("noreply@facebookmail.com",),
        ("alert@boursorama.com",),
    ]


@pytest.mark.fixtures
def test_it_makes_the_users_own_takeout_mail_outbound_to_the_recipient():
    result = parse_mbox(
        shared_fixture("mbox/takeoutreader-sample-x-gmail-labels.mbox"),
        own_addresses=frozenset({"alice@example.com"}),
    )

    first = result.interactions[0]
    assert first.direction == "outbound"
    assert people(first) == [("bob@example.com", "Bob")]
    assert [i.direction for i in result.interactions] == [
        "outbound",
        "inbound",
        "inbound",
    ]


# --- .eml fixtures ----------------------------------------------------------


@pytest.mark.fixtures
def test_it_reads_the_sender_of_a_mail_to_an_empty_group():
    result = parse_eml(
        shared_fixture("eml/419-undisclosed-recipients-group.eml"),
        own_addresses=frozenset({"ccc@aaa.net"}),
    )

    assert result.items_read == 1
    assert result.errors == []
    [record] = result.interactions
    assert record.position == "message #1"
    assert record.direction == "inbound"
    # Reply-To (transfer-desk2@example.fr) is not who wrote the mail.
    assert people(record) == [("cecil.scam@example.net", "Cecil Example")]
    assert record.occurred_at == utc(2009, 12, 3, 18, 50, 22)
    assert record.reference_id == "email:203751.85280.qm@web82107.mail.mud.yahoo.com"
    assert record.content_preview == "Western Union Swift Money Transfer"
    assert result.contacts == [
        ContactRecord(
            source="eml",
            position="message #1",
            full_name="Cecil Example",
            emails=("cecil.scam@example.net",),
        )
    ]


@pytest.mark.fixtures
def test_it_sends_to_no_one_when_the_user_writes_to_an_empty_group():
    result = parse_eml(
        shared_fixture("eml/419-undisclosed-recipients-group.eml"),
        own_addresses=frozenset({"cecil.scam@example.net"}),
    )

    assert result.interactions == []
    assert result.warnings == [
        RecordProblem("message #1", "no counterpart: only the user's own addresses")
    ]


@pytest.mark.fixtures
def test_it_reads_all_six_recipients_of_a_folded_to_list():
    result = parse_eml(
        shared_fixture("eml/folded-to-list-blank-continuation.eml"),
        own_addresses=frozenset({"l@gcn-example.com"}),
    )

    [record] = result.interactions
    assert record.direction == "outbound"
    assert people(record) == [
        ("leads@sg.dc.com", ""),
        ("sag@leads.gs.ry.com", ""),
        ("sn@example-hotmail.com", ""),
        ("e-s-a-g-8718@app.ar.com", ""),
        ("jp@t-exmaple.com", ""),
        ("cc@c-l-example.com", ""),
    ]
    assert record.occurred_at == utc(2010, 10, 13, 14, 53, 4)
    assert record.reference_id == (
        "email:4cb5c7d0a3cce_120e..fdbed2b861958562@s.t-example.com.tmail"
    )
    assert record.content_preview == "[Online Lead] Online Lead #1111111"
    assert len(result.contacts) == 6


@pytest.mark.fixtures
def test_it_makes_the_folded_list_mail_inbound_for_one_of_its_recipients():
    result = parse_eml(
        shared_fixture("eml/folded-to-list-blank-continuation.eml"),
        own_addresses=frozenset({"e-s-a-g-8718@app.ar.com"}),
    )

    [record] = result.interactions
    assert record.direction == "inbound"
    assert people(record) == [("l@gcn-example.com", "")]


@pytest.mark.fixtures
def test_it_keeps_the_encoded_comma_in_the_sender_name_of_the_mailparser_case():
    result = parse_eml(
        shared_fixture("eml/mailparser-test18-rfc2047-comma-in-display-name.eml"),
        own_addresses=frozenset({"comma.name@example.com"}),
    )

    [record] = result.interactions
    assert record.direction == "outbound"
    assert people(record) == [
        # The B-encoded name equals the address, so it names no one.
        ("tony.stark@example.com", ""),
        ("simple@example.net", ""),
        ("john.doe@example.com", 'John "Johnny" Doe'),
    ]
    assert record.occurred_at == utc(2025, 11, 3, 17, 23)
    assert record.content_preview == "Test for Comma and Name Bugs"
    assert record.reference_id.startswith("email:hash-")
    assert [(c.full_name, c.emails) for c in result.contacts] == [
        ("", ("tony.stark@example.com",)),
        ("", ("simple@example.net",)),
        ('John "Johnny" Doe', ("john.doe@example.com",)),
    ]


@pytest.mark.fixtures
def test_it_gives_one_sender_not_a_phantom_for_the_encoded_comma_as_inbound():
    result = parse_eml(
        shared_fixture("eml/mailparser-test18-rfc2047-comma-in-display-name.eml"),
        own_addresses=frozenset({"tony.stark@example.com"}),
    )

    [record] = result.interactions
    assert record.direction == "inbound"
    assert people(record) == [("comma.name@example.com", "LastßlName, FirstName")]
    assert result.contacts == [
        ContactRecord(
            source="eml",
            position="message #1",
            full_name="LastßlName, FirstName",
            emails=("comma.name@example.com",),
        )
    ]


@pytest.mark.fixtures
def test_it_joins_the_two_iso_2022_jp_words_of_the_subject():
    result = parse_eml(
        shared_fixture("eml/mimekit-japanese-iso2022jp-multiword-subject.eml"),
        own_addresses=NONE,
    )

    [record] = result.interactions
    assert record.content_preview == "日本語メールテスト (testing Japanese emails)"
    assert record.direction == "inbound"
    assert people(record) == [("x@x.com", "Akira Endo")]
    assert record.occurred_at == utc(2015, 7, 21, 16, 2, 29)
    assert record.reference_id == "email:55AE6D15.4010805@example.jp"


@pytest.mark.fixtures
def test_it_skips_the_japanese_mail_the_user_sent_to_themself():
    # From and To are both x@x.com.
    result = parse_eml(
        shared_fixture("eml/mimekit-japanese-iso2022jp-multiword-subject.eml"),
        own_addresses=frozenset({"x@x.com"}),
    )

    assert result.interactions == []
    assert len(result.warnings) == 1


@pytest.mark.fixtures
def test_it_counts_both_from_mailboxes_of_an_inbound_mail():
    result = parse_eml(
        shared_fixture("eml/multiple-from-at-in-display-name.eml"),
        own_addresses=frozenset({"mlinden@example.com"}),
    )

    [record] = result.interactions
    assert record.direction == "inbound"
    assert people(record) == [
        ("test@linden.example", "Mika Linden"),
        ("jack@linden.example", ""),
    ]
    assert record.occurred_at == utc(2008, 11, 22, 4, 4, 59)
    assert record.reference_id == (
        "email:6B7EC235-5B17-4CA8-B2B8-39290DEB43A3@test.linden.example"
    )
    assert record.content_preview == "Testing 123"


@pytest.mark.fixtures
def test_it_reads_the_recipient_whose_display_name_has_an_at_sign():
    result = parse_eml(
        shared_fixture("eml/multiple-from-at-in-display-name.eml"),
        own_addresses=frozenset({"test@linden.example"}),
    )

    [record] = result.interactions
    assert record.direction == "outbound"
    assert people(record) == [
        ("smith@example.com", ""),
        ("mlinden@example.com", "Mika@Linden"),
        ("tom@example.com", ""),
    ]
    assert [c.emails[0] for c in result.contacts] == [
        "smith@example.com",
        "mlinden@example.com",
        "tom@example.com",
    ]


@pytest.mark.fixtures
def test_it_reads_an_eml_that_starts_with_an_mbox_from_line():
    result = parse_eml(
        shared_fixture("eml/partially-encoded-subject-euc-kr-mbox-from.eml"),
        own_addresses=NONE,
    )

    [record] = result.interactions
    assert record.content_preview == 'Re: Test: "漢字" mid "漢字" tail'
    assert people(record) == [("james@37signals.example", "James Bock")]
    assert record.occurred_at == utc(2005, 5, 2, 22, 7, 5)
    assert record.reference_id == "email:d3b8cf8e49f04480850c28713a1f473e@37signals.com"


@pytest.mark.fixtures
def test_it_skips_the_raw_utf8_mail_because_it_has_no_date():
    result = parse_eml(
        shared_fixture("eml/rfc6532-utf8-raw-headers.eml"), own_addresses=NONE
    )

    assert result.items_read == 1
    assert result.interactions == []
    assert result.contacts == []
    assert result.errors == [RecordProblem("message #1", "no Date header")]


@pytest.mark.fixtures
def test_it_reads_raw_utf8_names_and_eai_addresses_once_the_mail_has_a_date():
    raw = shared_fixture("eml/rfc6532-utf8-raw-headers.eml").read_bytes()
    dated = b"Date: Mon, 2 Mar 2026 10:30:00 +0000\r\n" + raw

    inbound = parse_mail_bytes(dated, own_addresses=frozenset({"märy@exämple.net"}))
    outbound = parse_mail_bytes(
        dated, own_addresses=frozenset({"JDÖE@mächine.example"})
    )

    [record] = inbound.interactions
    assert record.direction == "inbound"
    assert people(record) == [("jdöe@mächine.example", "Jöhn Doe")]
    assert record.content_preview == "Säying Hello"
    [record] = outbound.interactions
    assert record.direction == "outbound"
    assert people(record) == [("märy@exämple.net", "Märy Smith")]


# --- splitting and skipping, on small inputs --------------------------------


def test_it_does_not_split_on_a_body_from_line_after_text():
    data = (
        b"From a@example.com Mon Mar  2 09:15:00 2026\n"
        b"From: Ann <ann@example.com>\n"
        b"Date: Mon, 02 Mar 2026 09:15:00 +0000\n"
        b"\n"
        b"see below\n"
        b"From my notes\n"
        b"Note: this is body text\n"
    )

    assert [line for line, _ in split_mbox(data)] == [1]


def test_it_keeps_the_messages_after_one_with_a_bad_date(tmp_path):
    data = (
        b"From a@example.com Mon Mar  2 09:15:00 2026\n"
        b"From: Ann <ann@example.com>\n"
        b"Date: not a date\n"
        b"Subject: one\n"
        b"\n"
        b"body\n"
        b"\n"
        b"From b@example.com Mon Mar  2 09:16:00 2026\n"
        b"From: Bob <bob@example.com>\n"
        b"Date: Mon, 02 Mar 2026 09:16:00 +0000\n"
        b"Subject: two\n"
        b"\n"
        b"body\n"
    )

    path = tmp_path / "box.mbox"
    path.write_bytes(data)

    result = parse_mbox(path, own_addresses=NONE)

    assert result.items_read == 2
    assert result.errors == [
        RecordProblem("message #1 (line 1)", "unreadable Date: 'not a date'")
    ]
    assert [(i.position, people(i)) for i in result.interactions] == [
        ("message #2 (line 8)", [("bob@example.com", "Bob")])
    ]


def test_it_reads_a_file_without_any_from_line_as_one_message():
    data = b"From: Ann <ann@example.com>\nDate: Mon, 02 Mar 2026 09:15:00 +0000\n\nhi\n"

    assert split_mbox(data) == [(1, data)]


def test_it_truncates_a_long_subject_to_500_characters():
    data = (
        b"From: Ann <ann@example.com>\r\n"
        b"Date: Mon, 02 Mar 2026 09:15:00 +0000\r\n"
        b"Subject: " + b"x" * 600 + b"\r\n\r\n"
    )

    [record] = parse_mail_bytes(data, own_addresses=NONE).interactions

    assert record.content_preview == "x" * 500
