"""vCard import: real files from ../shared/fixtures/vcard and inline cases."""

from __future__ import annotations

import pytest

from contacts.birthdays import Birthday
from syncjobs.imports.vcard import parse_vcard_data, parse_vcards
from syncjobs.records import ContactRecord, RecordProblem
from tests.conftest import shared_fixture

# Known bug B10, exactly as the case gives it (CRLF line ends).
B10 = (
    "BEGIN:VCARD\r\n"
    "VERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=45=78=C3=A4=6D=70=6C=65;=5A=6F=\r\n"
    "=C3=AB;;;\r\n"
    "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=5A=6F=C3=AB=20=45=\r\n"
    "=78=C3=A4=6D=70=6C=65\r\n"
    "TEL;CELL:+15550100\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Plain Person\r\n"
    "EMAIL:plain@example.org\r\n"
    "END:VCARD\r\n"
)
B10_GARBAGE_CARD = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Broken Card\r\n@@@\r\nEND:VCARD\r\n"
)


def vcard(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VCARD", "VERSION:3.0", *lines, "END:VCARD"]) + "\r\n"


def fixture(name: str):
    return parse_vcards(shared_fixture(f"vcard/{name}"))


def only_contact(text: str) -> ContactRecord:
    result = parse_vcard_data(text)
    assert len(result.contacts) == 1, result
    return result.contacts[0]


# --- B10 ------------------------------------------------------------------


def test_b10_it_decodes_quoted_printable_names_with_soft_line_breaks():
    result = parse_vcard_data(B10.encode("utf-8"))

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="Zoë Exämple",
            given_name="Zoë",
            family_name="Exämple",
            phones=("+15550100",),
        ),
        ContactRecord(
            source="vcard",
            position="card #2 (line 9)",
            full_name="Plain Person",
            emails=("plain@example.org",),
        ),
    ]
    assert result.errors == []
    assert result.warnings == []
    assert result.items_read == 2


def test_b10_a_garbage_third_card_fails_alone_and_names_the_card_and_line():
    result = parse_vcard_data((B10 + B10_GARBAGE_CARD).encode("utf-8"))

    assert [c.full_name for c in result.contacts] == ["Zoë Exämple", "Plain Person"]
    assert result.errors == [
        RecordProblem("card #3 (line 14)", "line 17 cannot be read: '@@@'")
    ]
    assert result.items_read == 3


def test_a_broken_card_in_the_middle_does_not_take_the_following_cards():
    text = vcard("FN:First") + B10_GARBAGE_CARD + vcard("FN:Third")

    result = parse_vcard_data(text)

    assert [c.full_name for c in result.contacts] == ["First", "Third"]
    assert [c.position for c in result.contacts] == [
        "card #1 (line 1)",
        "card #3 (line 10)",
    ]
    assert result.errors == [
        RecordProblem("card #2 (line 5)", "line 8 cannot be read: '@@@'")
    ]


# --- Shared fixture files ---------------------------------------------------


def test_calcard_027_keeps_a_text_birthday_as_text_with_a_warning():
    result = fixture("calcard-027-bday-text-value.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="text birthday",
            birthday=None,
            birthday_text="circa 1800",
        )
    ]
    assert result.warnings == [
        RecordProblem(
            "card #1 (line 1)", "the birthday is text, not a date: 'circa 1800'"
        )
    ]
    assert result.errors == []


def test_calcard_048_reads_the_rfc2426_example_and_the_first_of_three_bdays():
    result = fixture("calcard-048-rfc2426-bday-datetime.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="Mr. John Q. Public, Esq.",
            given_name="John",
            family_name="Public",
            emails=("jqpublic@xyz.dom1.com", "jdoe@isp.net", "jane_doe@abc.com"),
            phones=("+1-213-555-1234",),
            company="ABC, Inc.",
            title="Director, Research and Development",
            notes="This fax number is operational 0800 to 1715 EST, Mon-Fri.",
            tags=(
                "travel agent",
                "internet",
                "ietf",
                "industry",
                "information technology",
            ),
            birthday=Birthday(month=4, day=15, year=1996),
        )
    ]
    assert result.warnings == [
        RecordProblem("card #1 (line 1)", "3 BDAY values; the first is used")
    ]
    assert result.errors == []


def test_calcard_048_the_embedded_agent_card_is_not_a_contact():
    result = fixture("calcard-048-rfc2426-bday-datetime.vcf")

    assert [c.full_name for c in result.contacts] == ["Mr. John Q. Public, Esq."]
    assert "sthomas@host.com" not in result.contacts[0].emails


def test_calcard_053_a_card_with_only_birthdays_is_skipped_with_a_reason():
    result = fixture("calcard-053-malformed-bday-no-version.vcf")

    assert result.contacts == []
    assert result.errors == [
        RecordProblem("card #1 (line 1)", "the card has no name, email or phone")
    ]
    assert result.items_read == 1


def test_calcard_077_apple_company_card_keeps_fn_org_and_grouped_email():
    result = fixture("calcard-077-apple-macos15-company.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="{NAME}",
            emails=("name@example.com",),
            company="{NAME}",
        )
    ]
    assert result.errors == []
    assert result.warnings == []


def test_eds_12_decodes_values_that_begin_with_a_soft_break():
    result = fixture("eds-12-v21-qp-soft-breaks.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="Matthias Brückner",
            given_name="Matthias",
            family_name="Brückner",
            emails=("ext-Matthias.Brueckner@example.com",),
            phones=("+491510000001", "015200000002", "+4973100000003"),
            birthday=Birthday(month=12, day=29, year=1978),
        )
    ]
    assert result.errors == []
    assert result.warnings == []


def test_eds_13_unfolds_tab_continued_parameters_and_escaped_semicolons():
    result = fixture("eds-13-evil-folding-escapes.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="Rolf Enders",
            emails=("Fred_Dorsey@lotus.example", "semicolon;@points.net"),
            phones=("+1-919-555-9515", "+1-919-555-9564"),
            company="Rolf Enders evil tests",
        )
    ]
    assert result.errors == []


def test_ezvcard_android_reads_all_six_v21_cards():
    result = fixture("ezvcard-android-v21-multi.vcf")

    assert result.items_read == 6
    assert [c.position for c in result.contacts] == [
        "card #1 (line 1)",
        "card #2 (line 6)",
        "card #3 (line 11)",
        "card #4 (line 18)",
        "card #5 (line 36)",
        "card #6 (line 71)",
    ]
    assert [c.full_name for c in result.contacts] == [
        "",
        "",
        "Ñ Ñ Ñ Ñ Ñ",
        "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ",
        "Ñ Ñ Ñ Ñ",
        "ÑÑÑÑ",
    ]
    assert [c.emails for c in result.contacts] == [
        ("john.doe@company.example",),
        ("jane.doe@company.example",),
        (),
        (),
        ("bob@company.example",),
        ("henry@company.example",),
    ]
    assert [c.phones for c in result.contacts] == [
        (),
        (),
        ("123456789",),
        ("123456", "234567", "3456789", "45678901"),
        ("123456",),
        ("55556666",),
    ]
    assert [c.tags for c in result.contacts] == [
        ("my contacts",),
        ("my contacts",),
        ("my contacts",),
        ("my contacts",),
        (),
        ("my contacts",),
    ]
    assert result.errors == []


def test_ezvcard_android_decodes_names_notes_and_orgs_across_soft_breaks():
    contacts = fixture("ezvcard-android-v21-multi.vcf").contacts

    assert (contacts[2].given_name, contacts[2].family_name) == ("", "Ñ Ñ Ñ Ñ")
    assert contacts[3].family_name == "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ"
    note = "Ñ Ñ Ñ Ñ Ñ Ñ Ñ ÑÑ Ñ Ñ Ñ Ñ Ñ Ñ ÑÑ Ñ Ñ Ñ Ñ"
    assert contacts[3].notes == f"{note}\n\n{note}"
    assert (contacts[4].given_name, contacts[4].family_name) == ("Ñ Ñ Ñ", "Ñ Ñ")
    assert contacts[4].company == "Ñ" * 12
    assert contacts[5].company == "Ñ" * 44


def test_ezvcard_android_a_broken_photo_or_bad_org_byte_costs_only_a_warning():
    result = fixture("ezvcard-android-v21-multi.vcf")

    # Card 5 carries a truncated base64 PHOTO, card 6 an ORG with the byte
    # 0x80 that is not UTF-8; both contacts are still imported.
    assert result.warnings == [
        RecordProblem(
            "card #5 (line 36)",
            "EMAIL 'ÑÑÑÑÑÑÑÑÑÑÑÑÑÑ' is not an email address; left out",
        ),
        RecordProblem(
            "card #6 (line 71)", "ORG is not valid UTF-8; unreadable bytes replaced"
        ),
    ]


def test_ezvcard_gmail_export_reads_item_grouped_phone_and_folded_note():
    result = fixture("ezvcard-gmail-export-single.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="Greg Dartmouth",
            given_name="Greg",
            family_name="Dartmouth",
            emails=("gdartmouth@example.com",),
            phones=("555 555 1111", "555 555 2222"),
            company="TheCompany",
            title="TheJobTitle",
            notes=(
                "This is GMail's note field.\n"
                "It should be added as a NOTE type.\n"
                "ACustomField: CustomField"
            ),
            birthday=Birthday(month=9, day=10, year=1960),
        )
    ]
    assert result.errors == []
    assert result.warnings == []


def test_ezvcard_rfc6350_reads_a_v4_yearless_birthday_and_tel_uris():
    result = fixture("ezvcard-rfc6350-example-v4.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="Sam Pelletier",
            given_name="Sam",
            family_name="Pelletier",
            emails=("sam.pelletier@example.ca",),
            phones=("+1-418-555-0154 ext. 102", "+1-418-555-0101"),
            company="Viagenie",
            birthday=Birthday(month=2, day=3, year=None),
        )
    ]
    assert result.errors == []
    assert result.warnings == []


def test_largefile_reads_exactly_1000_contacts():
    result = fixture("largefile-1000-cards.vcf")

    assert len(result.contacts) == 1000
    assert result.items_read == 1000
    assert result.errors == []
    assert result.warnings == []
    first, fourth, last = result.contacts[0], result.contacts[3], result.contacts[-1]
    assert (first.full_name, first.given_name, first.family_name) == (
        "Kasey Schmitt",
        "Kasey",
        "Schmitt",
    )
    assert first.position == "card #1 (line 1)"
    assert fourth.full_name == "Reva Rachel Rogahn"
    assert (last.full_name, last.position) == (
        "Florine Liana Stehr",
        "card #1000 (line 4996)",
    )
    assert all(c.full_name for c in result.contacts)


def test_leapsake_ios_probe_reads_every_yearless_birthday_form():
    result = fixture("leapsake-ios-probe-dates-v3.vcf")

    assert [(c.full_name, c.birthday) for c in result.contacts] == [
        ("V3 01-control-full-extended", Birthday(month=4, day=12, year=1985)),
        ("V3 02-control-full-basic", Birthday(month=4, day=12, year=1985)),
        ("V3 03-noyear-basic", Birthday(month=4, day=12, year=None)),
        ("V3 04-noyear-extended", Birthday(month=4, day=12, year=None)),
        ("V3 05-noyear-apple", Birthday(month=4, day=12, year=None)),
        # X-ABDATE is an anniversary, not a birthday.
        ("V3 06-abdate-noyear-basic", None),
        ("V3 07-abdate-noyear-apple", None),
    ]
    assert {c.company for c in result.contacts} == {"LEAPSAKE-DATE-TEST"}
    assert result.contacts[0].family_name == "01-control-full-extended"
    assert result.contacts[0].given_name == "V3"
    assert result.errors == []
    assert result.warnings == []


def test_outlook_v21_with_a_raw_windows_1252_byte_is_read():
    result = fixture("outlook-v21-cp1252.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="Ralf Rastral",
            given_name="Ralf",
            family_name="Rastral",
        )
    ]
    assert result.errors == []
    assert result.warnings == [
        RecordProblem(
            "card #1 (line 1)", "the card is not UTF-8; read it as Windows-1252"
        )
    ]


def test_vcard4android_reads_grouped_emails_several_notes_and_categories():
    result = fixture("vcard4android-allfields-v3.vcf")

    assert result.contacts == [
        ContactRecord(
            source="vcard",
            position="card #1 (line 1)",
            full_name="Ämi Display",
            given_name="Firstname",
            family_name="Lastname",
            emails=("private@example.com", "work@example.com"),
            phones=("+49 1234 56788", "+1-800-MYFAX"),
            company="ABC, Inc.",
            title="Director, Research and Development",
            notes="This fax number is operational 0800 to 1715 EST, Mon-Fri.\n\n"
            "Second note",
            tags=("a", "b'c"),
            birthday=Birthday(month=4, day=15, year=1996),
        )
    ]
    assert result.errors == []
    assert result.warnings == []


# --- Birthdays ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bday", "expected"),
    [
        ("BDAY:1996-04-15", Birthday(month=4, day=15, year=1996)),
        ("BDAY:19850412", Birthday(month=4, day=12, year=1985)),
        ("BDAY:--0412", Birthday(month=4, day=12)),
        ("BDAY:--04-12", Birthday(month=4, day=12)),
        ("BDAY;X-APPLE-OMIT-YEAR=1604:1604-04-12", Birthday(month=4, day=12)),
        ("BDAY;X-APPLE-OMIT-YEAR=1604:1604-02-29", Birthday(month=2, day=29)),
        # Cut to the date as written, never moved by the offset.
        ("BDAY:1953-10-15T23:10:00Z", Birthday(month=10, day=15, year=1953)),
        ("BDAY:1987-09-27T08:30:00-06:00", Birthday(month=9, day=27, year=1987)),
        ("BDAY:1970-07-15T03:45:12", Birthday(month=7, day=15, year=1970)),
        ("BDAY:19700715T234512+1400", Birthday(month=7, day=15, year=1970)),
    ],
)
def test_it_reads_each_vcard_birthday_form(bday, expected):
    contact = only_contact(vcard("FN:Birthday Person", bday))

    assert contact.birthday == expected
    assert contact.birthday_text == ""


@pytest.mark.parametrize(
    ("bday", "text", "reason"),
    [
        (
            "BDAY;VALUE=text:circa 1800",
            "circa 1800",
            "the birthday is text, not a date: 'circa 1800'",
        ),
        ("BDAY:70-7-14", "70-7-14", "the birthday '70-7-14' is not a date"),
        (
            "BDAY:1990-02-30",
            "1990-02-30",
            "the birthday '1990-02-30' is not a real date: "
            "day 30 does not exist in month 2",
        ),
        (
            "BDAY:1991-02-29",
            "1991-02-29",
            "the birthday '1991-02-29' is not a real date: 1991 is not a leap year",
        ),
    ],
)
def test_an_unreadable_birthday_is_none_with_a_warning_naming_the_card(
    bday, text, reason
):
    result = parse_vcard_data(vcard("FN:Odd Birthday") + vcard("FN:Second", bday))

    assert [c.full_name for c in result.contacts] == ["Odd Birthday", "Second"]
    assert result.contacts[1].birthday is None
    assert result.contacts[1].birthday_text == text
    assert result.warnings == [RecordProblem("card #2 (line 5)", reason)]
    assert result.errors == []


def test_an_apple_birthday_with_a_real_year_keeps_the_year():
    contact = only_contact(
        vcard("FN:Real Year", "BDAY;X-APPLE-OMIT-YEAR=1604:1988-04-12")
    )

    assert contact.birthday == Birthday(month=4, day=12, year=1988)


# --- Names, phones and structure -------------------------------------------


def test_without_fn_the_name_is_built_from_n():
    contact = only_contact(vcard("N:Doe;Jane;Quinn;Dr.;PhD"))

    assert (contact.full_name, contact.given_name, contact.family_name) == (
        "Jane Quinn Doe",
        "Jane",
        "Doe",
    )


def test_without_any_name_the_organization_names_the_contact():
    contact = only_contact(vcard("ORG:Acme Corp;Sales", "TEL:+15550123"))

    assert (contact.full_name, contact.company) == ("Acme Corp", "Acme Corp")


def test_tel_uris_are_stripped_to_the_number():
    contact = only_contact(
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Uri Phone\r\n"
        "TEL;VALUE=uri;TYPE=cell:tel:+1-555-0100\r\n"
        "TEL;VALUE=uri:TEL:+44-20-7946-0000;ext=7\r\n"
        "END:VCARD\r\n"
    )

    assert contact.phones == ("+1-555-0100", "+44-20-7946-0000 ext. 7")


def test_an_outlook_empty_parameter_does_not_lose_the_property():
    contact = only_contact(
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Empty Param\r\n"
        "TEL;HOME;PREF;:+49 30 1234\r\nEND:VCARD\r\n"
    )

    assert contact.phones == ("+49 30 1234",)


def test_duplicate_emails_in_another_case_are_kept_once():
    contact = only_contact(
        vcard("FN:Twice", "EMAIL:Twice@Example.com", "EMAIL:twice@example.com")
    )

    assert contact.emails == ("Twice@Example.com",)


def test_a_card_without_end_is_an_error_and_the_next_card_is_still_read():
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cut Off\r\n" + vcard("FN:Next One")

    result = parse_vcard_data(text)

    assert [c.full_name for c in result.contacts] == ["Next One"]
    assert [c.position for c in result.contacts] == ["card #2 (line 4)"]
    assert result.errors == [
        RecordProblem("card #1 (line 1)", "the card has no END:VCARD line")
    ]


def test_a_truncated_last_card_is_an_error():
    result = parse_vcard_data(vcard("FN:Whole") + "BEGIN:VCARD\r\nFN:Half")

    assert [c.full_name for c in result.contacts] == ["Whole"]
    assert result.errors == [
        RecordProblem("card #2 (line 5)", "the card has no END:VCARD line")
    ]


def test_text_between_cards_is_a_warning():
    result = parse_vcard_data(vcard("FN:A") + "stray words\r\nmore\r\n" + vcard("FN:B"))

    assert [c.full_name for c in result.contacts] == ["A", "B"]
    assert result.warnings == [RecordProblem("line 5", "text outside a vCard ignored")]


def test_a_file_with_no_card_at_all_is_one_error():
    result = parse_vcard_data("Name,E-mail 1 - Value\r\nAnn,ann@example.com\r\n")

    assert result.contacts == []
    assert result.warnings == []
    assert result.errors == [
        RecordProblem("line 1", "no BEGIN:VCARD found; this is not a vCard file")
    ]


def test_an_empty_file_has_no_contacts_and_no_problems():
    result = parse_vcard_data(b"")

    assert (result.contacts, result.errors, result.warnings) == ([], [], [])
    assert result.items_read == 0


def test_a_v21_agent_card_nested_inside_a_card_is_skipped():
    text = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Boss Person\r\nAGENT:\r\n"
        "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Assistant\r\nEND:VCARD\r\n"
        "EMAIL:boss@example.com\r\nEND:VCARD\r\n"
    )

    result = parse_vcard_data(text)

    assert [(c.full_name, c.emails) for c in result.contacts] == [
        ("Boss Person", ("boss@example.com",))
    ]
    assert result.items_read == 1


def test_a_utf8_byte_order_mark_and_lf_line_ends_are_accepted():
    data = "\ufeff".encode() + vcard("FN:Bom Person").replace("\r\n", "\n").encode()

    assert only_contact(data).full_name == "Bom Person"


def test_quoted_printable_in_windows_1252_is_decoded_with_its_charset():
    contact = only_contact(
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "FN;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:J=FCrgen M=FCller\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE:line one=0D=0Aline two\r\n"
        "END:VCARD\r\n"
    )

    assert contact.full_name == "Jürgen Müller"
    assert contact.notes == "line one\nline two"
