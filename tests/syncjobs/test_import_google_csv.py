"""Google Contacts CSV import: the real exports in ../shared/fixtures, inline rows."""

from __future__ import annotations

from contacts.birthdays import Birthday
from syncjobs.imports.google_csv import parse_google_csv, parse_google_csv_data
from syncjobs.records import ContactRecord, RecordProblem
from tests.conftest import shared_fixture

NEW_HEADER = (
    "First Name,Middle Name,Last Name,Organization Name,Organization Title,"
    "Birthday,Notes,Labels,E-mail 1 - Label,E-mail 1 - Value,"
    "E-mail 2 - Label,E-mail 2 - Value,Phone 1 - Label,Phone 1 - Value\r\n"
)


def fixture(name: str):
    return parse_google_csv(shared_fixture(f"google-contacts-csv/{name}"))


# --- Shared fixture files ---------------------------------------------------


def test_constellation_minimal_columns_reads_two_contacts_and_a_quoted_comma():
    result = fixture("constellation-google-csv-minimal-columns.csv")

    assert result.contacts == [
        ContactRecord(
            source="csv",
            position="line 2",
            full_name="Jerry Mathis",
            given_name="Jerry",
            family_name="Mathis",
            emails=("jerry@example.com",),
            phones=("(757) 555-0101",),
            company="Example Partners",
            title="Founder",
        ),
        ContactRecord(
            source="csv",
            position="line 3",
            full_name="Zoë, Smith",
            given_name="Zoë",
            family_name="Smith",
            emails=("zoe@example.com",),
            company="Unicode Works",
            title="Engineer",
        ),
    ]
    # The trailing blank line is not a row.
    assert result.items_read == 2
    assert result.errors == []
    assert result.warnings == []


def test_2024_format_reads_first_name_labels_and_a_yearless_birthday():
    result = fixture("google-csv-2024-format-noyear-bday.csv")

    assert result.contacts == [
        ContactRecord(
            source="csv",
            position="line 2",
            full_name="Jane Doe",
            given_name="Jane",
            family_name="Doe",
            emails=("jane.doe@acme.example", "jane@personal.example"),
            phones=("+41 79 123 45 67",),
            company="Acme Corp",
            title="VP Engineering",
            notes="Met at ETH reunion",
            birthday=Birthday(month=6, day=15, year=1988),
            linkedin_url="https://www.linkedin.com/in/jane-doe-example",
        ),
        ContactRecord(
            source="csv",
            position="line 3",
            full_name="Bob Smith",
            given_name="Bob",
            family_name="Smith",
            emails=("bob.smith@globex.example",),
            phones=("+1 415 555 0100",),
            company="Globex",
            title="Designer",
            birthday=Birthday(month=12, day=1, year=None),
        ),
        ContactRecord(
            source="csv",
            position="line 4",
            full_name="Chloé Van Damme, Jr.",
            given_name="Chloé",
            family_name="Van Damme, Jr.",
            emails=("chloe@vandamme.example",),
            company="Widgets, Inc.",
            title='Head of "Special" Projects',
            notes="Line one\nLine two",
        ),
    ]
    assert result.items_read == 3
    assert result.errors == []


def test_2024_format_imports_the_ragged_row_with_a_warning():
    result = fixture("google-csv-2024-format-noyear-bday.csv")

    assert result.warnings == [
        RecordProblem(
            "line 4",
            "the row has 26 fields but the header has 25; the extra fields are ignored",
        )
    ]
    assert result.contacts[2].full_name == "Chloé Van Damme, Jr."


LEGACY_ROWS = [
    ("Hery Serge, Virtual game", ("033 17 674 93",), ""),
    ("Tojo Rakotomalala", ("+261 36 53 686 15", "032 64 985 02"), ""),
    ("Voahirana Randrianarisoa", ("+261394284981",), ""),
    ("Fara", ("034 54 069 93",), ""),
    ("Lanto, MwW", ("034 70 974 43",), ""),
    ("Gestionnaire Accès Banque Miora", ("+261314239560",), ""),
    ("Ny Aina, Yu-Gi-Oh Dev Web", ("0326424145",), ""),
    ("Haja Yvette Rasoanaivo", ("034 60 133 69",), ""),
    ("Soa, Ethanol", ("032 67 835 16",), ""),
    ("Rivo, Directimmo", ("+261 33 83 496 67", "033 62 215 86"), ""),
    ("FID Anosy", ("+261 26 45 326 84",), "FID Anosy"),
    ("Tiana", ("+261323698297",), ""),
    (
        "Société Générale Mamy Andriamanana, Gestionnaire",
        ("034 95 715 68", "034 30 645 74", "020 71 004 72"),
        "",
    ),
    ("Chef Fkt Onja", ("034 01 187 81",), "Fkt Ampandrana"),
    ("Mr Fetra", ("+261337585582",), ""),
    ("Commercial Koloina", ("+261 32 60 971 87",), "Jumbo"),
    ("Tahina Razafimahefa, Habaka", ("034 35 805 58",), ""),
    ("Lova, Geomada", ("+261 38 37 113 26",), ""),
    ("Tonton Zo", ("+33954859198",), ""),
    ("Nirina Ravelojaona", ("0345950272",), ""),
    ("Andry, PWC", ("034 51 083 12",), "PWC"),
    ("Sitraka, Gestionnaire", ("032 12684 98",), "Accès Banque"),
    ("Assistante Mme Odette Rado", ("034 43 572 50", "+261 32 39 986 26"), ""),
    ("Feno Rabearivelo", ("034 34 946 91", "+261 38 45 758 64"), ""),
    ("Rakotobe Mahery", ("034 99 377 47", "033 59 591 24"), ""),
    ("Maitre Faly", ("034 32 938 15",), ""),
    ("Commercial Nomena, Directimmo", ("+261 33 63 079 63",), "Directimmo"),
    ("Vola didier Ratsimbazafy", ("+261 37 82 600 74",), "Ex rdj, Ex De Yvon"),
    ("Hanta, Happy Store", ("+261 34 43 941 75",), ""),
    ("Hanta, Zafniary", ("033 89 204 75",), ""),
    ("Toky, Innova", ("0348120239",), "Innova Immo"),
    ("Njaka", ("+261 30 57 840 19", "034 78 278 96"), ""),
    ("Tonton Aro", ("+261371580907",), ""),
    ("Fanja, Ingé Son", ("+261 32 84 063 23",), ""),
    ("Mialy Rajaonarison", ("034 68 658 38", "034 89 754 57"), ""),
    ("Tsiry Randriamihaja", ("+261374494206",), ""),
    ("Holy RAFANOMEZANTSOA", ("+261 39 05 688 46", "032 69 724 34"), ""),
    ("Manda", ("034 82 871 33",), "Project alpha"),
    ("Sandra, Accès Banque", ("032 85 427 56",), ""),
    ("Joel Rasolofoniaina", ("+261339518008",), ""),
    ("Claire, Koka", ("034 61 147 59",), ""),
    ("Pascal Andrianjafy", ("+261 39 00 641 35",), ""),
    ("Elodie, FMF", ("+261349264559",), ""),
    ("Maurice, Noum's", ("034 18 428 61",), ""),
    ("Chantal", ("034 63 692 34",), ""),
]


def test_legacy_format_reads_all_45_rows_with_names_phones_and_companies():
    result = fixture("google-csv-legacy-format.csv")

    assert [(c.full_name, c.phones, c.company) for c in result.contacts] == LEGACY_ROWS
    assert [c.position for c in result.contacts] == [f"line {n}" for n in range(2, 47)]
    assert result.items_read == 45
    assert result.errors == []
    assert result.warnings == []


def test_legacy_format_keeps_given_and_family_names_from_their_columns():
    contacts = fixture("google-csv-legacy-format.csv").contacts

    assert (contacts[1].given_name, contacts[1].family_name) == ("Tojo", "Rakotomalala")
    assert (contacts[0].given_name, contacts[0].family_name) == ("Hery", "")
    assert (contacts[12].given_name, contacts[12].family_name) == (
        "Mamy",
        "Andriamanana",
    )
    assert (contacts[10].given_name, contacts[10].family_name) == ("", "")


def test_legacy_format_reads_primary_marked_emails_and_starred_group():
    contacts = fixture("google-csv-legacy-format.csv").contacts

    with_email = [(c.full_name, c.emails) for c in contacts if c.emails]
    assert with_email == [
        ("Voahirana Randrianarisoa", ("voahirana1@example.com",)),
        ("Tsiry Randriamihaja", ("tsiry2@example.com",)),
    ]
    tagged = [(c.full_name, c.tags) for c in contacts if c.tags]
    assert tagged == [("Feno Rabearivelo", ("starred",))]


def test_legacy_star_type_keeps_an_email_only_row():
    result = fixture("google-csv-legacy-star-type.csv")

    assert result.contacts == [
        ContactRecord(
            source="csv",
            position="line 2",
            full_name="Ricardo Fenwick",
            given_name="Ricardo",
            family_name="Fenwick",
            emails=("ricardo@caltech.example",),
        ),
        ContactRecord(
            source="csv",
            position="line 3",
            emails=("iforgotthisguysnamebutihavehisemail@example.com",),
        ),
        ContactRecord(
            source="csv",
            position="line 4",
            full_name="Elias Marsh",
            given_name="Elias",
            family_name="Marsh",
            emails=("elias.marsh@example.com",),
        ),
    ]
    assert result.errors == []
    assert result.warnings == []


# --- Inline rows ----------------------------------------------------------------


def test_positions_name_the_physical_line_after_a_multi_line_note():
    text = (
        NEW_HEADER
        + 'Ann,,Lee,,,,"first\r\nsecond\r\nthird",,,ann@example.com,,,,\r\n'
        + "Ben,,Ode,,,,,,,ben@example.com,,,,\r\n"
    )

    result = parse_google_csv_data(text)

    assert [(c.full_name, c.position) for c in result.contacts] == [
        ("Ann Lee", "line 2"),
        ("Ben Ode", "line 5"),
    ]
    assert result.contacts[0].notes == "first\nsecond\nthird"


def test_a_row_with_no_name_email_or_phone_is_skipped_with_a_reason():
    text = (
        NEW_HEADER
        + ",,,,,,just a note,* myContacts,,,,,,\r\n"
        + "Cy,,,,,,,,,,,,,+1 555\r\n"
    )

    result = parse_google_csv_data(text)

    assert [c.full_name for c in result.contacts] == ["Cy"]
    assert result.errors == [
        RecordProblem("line 2", "the row has no name, e-mail or phone")
    ]
    assert result.items_read == 2


def test_the_primary_email_comes_first_and_multi_value_cells_are_split():
    text = (
        NEW_HEADER
        + "Di,,,,,,,Friends ::: * starred,Home,di@home.example ::: di@old.example,"
        + "* Work,di@work.example,Mobile,+1 555 0001 ::: +1 555 0002\r\n"
    )

    contact = parse_google_csv_data(text).contacts[0]

    assert contact.emails == ("di@work.example", "di@home.example", "di@old.example")
    assert contact.phones == ("+1 555 0001", "+1 555 0002")
    assert contact.tags == ("friends", "starred")


def test_an_impossible_birthday_is_kept_as_text_with_a_warning():
    text = NEW_HEADER + "Ed,,,,,1990-02-30,,,,ed@example.com,,,,\r\n"

    result = parse_google_csv_data(text)

    assert result.contacts[0].birthday is None
    assert result.contacts[0].birthday_text == "1990-02-30"
    assert result.warnings == [
        RecordProblem(
            "line 2",
            "the birthday '1990-02-30' is not a real date: "
            "day 30 does not exist in month 2",
        )
    ]


def test_a_windows_1252_file_is_read_with_a_warning():
    data = (
        "Name,E-mail 1 - Type,E-mail 1 - Value\r\nJosé Núñez,,jose@example.com\r\n"
    ).encode("cp1252")

    result = parse_google_csv_data(data)

    assert result.contacts[0].full_name == "José Núñez"
    assert result.warnings == [
        RecordProblem("line 1", "the file is not UTF-8; read it as Windows-1252")
    ]


def test_a_file_without_name_columns_is_rejected_at_line_1():
    result = parse_google_csv_data("foo,bar\r\n1,2\r\n")

    assert result.contacts == []
    assert result.errors == [
        RecordProblem("line 1", "not a Google Contacts CSV: no name columns")
    ]
