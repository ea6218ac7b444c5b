"""LinkedIn data-export parsing: Connections.csv and messages.csv."""

from __future__ import annotations

import datetime as dt

import pytest

from linkedin.export import clean_name, parse_connections_csv, parse_messages_csv
from syncjobs.records import (
    INBOUND,
    OUTBOUND,
    ContactRecord,
    Participant,
    RecordProblem,
)
from tests.conftest import shared_fixture

CONNECTIONS_2018 = "linkedin-connections-csv/connections-2018-no-url-datetime.csv"
CONNECTIONS_2024 = "linkedin-connections-csv/connections-2024-notes-preamble.csv"
MESSAGES_2023 = "linkedin-messages-csv/messages-2023-10col.csv"
MESSAGES_2025 = "linkedin-messages-csv/messages-2025-12col-group-draft.csv"

LI = "https://www.linkedin.com/in/"
MESSAGE_HEADER_10 = (
    "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,"
    "RECIPIENT PROFILE URLS,DATE,SUBJECT,CONTENT,FOLDER\n"
)
MESSAGE_HEADER_12 = MESSAGE_HEADER_10.rstrip("\n") + ",ATTACHMENTS,IS MESSAGE DRAFT\n"
CONNECTION_HEADER = (
    "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
)

NAMES_2018 = [
    "Hugo Costa", "Samir Brennan", "maren nakamura", "Lotte Dekker",
    "Mila Novak Farouk", "Bas Petrov", "Freya Janssen", "Samir Costa",
    "Ilse Dekker", "Clara Farouk", "Theo Mensah", "Noah Kimura", "Mila Holm",
    "Vera P.S", "Eva Meijer", "Oskar Stewart", "Sofia Haddad", "clara quint",
    "Hugo Carver", "MILA PEREIRA", "Greta Mercer", "Tomas Kimura",
    "Tessa Pereira", "Tariq Reyes", "Omar Meijer", "Aisha E . Dekker",
    "Lena D.", "Tomas Yilmaz", "Freya Okafor", "Zoë Dvořák Gökçe",
    "Bas Achterberg", "Ivan Lindqvist", "Mateo Hanna brennan",
    "Jade Alina Varga", "Al Eklund", "Rohan Laine", "Felix Marsh",
    "Tariq Okafor", "ELENA COSTA", "Vera Castillo", "Sofia novak",
]  # fmt: skip

# (physical line, full name, slug) for every kept row of the 2024 export.
ROWS_2024 = [
    (5, "Elena Brennan", "elena-brennan-eb8a1ec93"),
    (6, "Felix Costa-Moreau", "felixcostamoreau"),
    (7, "Tessa-Samir Hollis", "tessasamirhollis"),
    (8, "Bruno Ulrich", "bruno-ulrich-0a983694d"),
    (9, "Selin-Priya de Meijer", "selin-priya-de-meijer"),
    (10, "Ruben Achterberg", "rubenachterberg"),
    (11, "Nora Lund", "noralund"),
    (12, "Jonas Tanaka", "jonas-tanaka"),
    (13, "Mateo van Sato van Petrov", "mateo-van-sato-van-petrov-f3e50e86"),
    (14, "Anouk Ahlberg", "anouk-ahlberg-c2c5f2ca"),
    (15, "Greta Rahman", "greta-rahman-35310f880"),
    (16, "Ravi Carver", "ravicarver"),
    (17, "Yara Zeller", "yara-zeller-fc3fcdcea"),
    (18, "Eva Dekker", "evadekker"),
    (19, "Pieter Yilmaz", "pieteryilmaz"),
    (20, "Lina Varga", "linavarga"),
    (21, "Sven Wendt", "svenwendt"),
    (22, "Vera Brandt", "verabrandt"),
    (23, "Yusuf Castillo", "yusuf-castillo-b9d49fc08"),
    (24, "Kian Nieminen", "kiannieminen"),
    (25, "Milan ( Ilse ) Sorensen", "milan-ilse-sorensen-4a2989d"),
    (26, "Nadia Böhm", "nadia-böhm-e52e2a3c6"),
    (27, "Mila Kowalski", "mila-kowalski"),
    (28, "Zara van der Ibsen", "zara-van-der-ibsen-dc106b45"),
    (29, "Aisha Reyes", "aisha-reyes"),
    (30, "Freya Rossi", "freyarossi"),
    (31, "Jana Nakamura", "jananakamura"),
    (32, "Tariq Dijkman", "tariqdijkman"),
    (33, "Kofi Bakker", "kofi-bakker"),
    (34, "Marco Kimura", "marcokimura"),
    (35, "Tomas Núñez", "tomas-nunez"),
    (36, "Clara Mercer", "claramercer"),
    (37, "Ivan Verhoeven", "ivan-verhoeven-4225f969"),
    (38, "Rosa Okafor", "rosaokafor"),
    (39, "Maren Vidal", "marenvidal"),
    (40, "Emil Whitlock", "emilwhitlock"),
    (41, "Omar Haddad", "omar-haddad-c618c8fc"),
    (42, "Maya Osei", "maya-osei-640075fc"),
    (43, "Dr. Pablo Kaplan", "dr-pablo-kaplan-2efb086df"),
    (44, "Hanna Włodarczyk", "hannawlodarczyk"),
    (45, "Luca Wojcik", "lucawojcik"),
    (46, "Sofia Jäättelä", "sofia-jäättelä-589caba55"),
    (47, "Dev Pereira", "dev-pereira"),
    (48, "Jade van Stewart Boateng", "jadevanstewartboateng"),
    (49, "Hugo Dubois", "hugodubois"),
    (50, "Jürgen van Kovacs", "jürgen-van-kovacs-eb93f1f4"),
    (51, "Leon Marsh", "leonmarsh"),
    (52, "Rohan Blom", "rohan-blom"),
    (53, "Vera Lefèvre", "vera-lefevre"),
    (54, "Alina Farouk", "alinafarouk"),
    (55, "Arjun Mensah", "arjun-mensah-e04f47729"),
    (56, "Theo Ferrão", "theoferrao"),
    (57, "Lotte Oduya", "lotte-oduya-283962c00"),
    (58, "Noah Richter Holm", "noah-richter-holm🔸-d19f5359"),
    (59, "Oskar Quint", "oskar-quint-591ce45"),
    (60, "Amara Laine", "amaralaine"),
    (61, "Lena Lindqvist", "lena-lindqvist-0df255ce"),
    (62, "Ines Samir Alvarez", "inessamiralvarez"),
    (63, "Bas van Novak", "basvannovak"),
    (64, "Leon Eklund", "leoneklund"),
    (65, "Bruno Janssen", "bruno-janssen"),
    (66, "Mateo Fischer", "mateo-fischer-a2d4247"),
    (68, "Anouk Ødegaard", "anouk-ødegaard"),
    (69, "Sven C. Wendt", "svencwendt"),
    (70, "Małgorzata Alvarez", "malgorzata-alvarez"),
    (71, "Łucja Ulrich", "lucjaulrich"),
    (72, "Freya Kaplan", "freyakaplan"),
    (73, "Renée Carver", "reneecarver"),
    (74, "Prof. Dr. Milan Brandt", "profdrmilanbrandt"),
    (75, "Jana Okafor", "janaokafor"),
    (76, "Lina Boateng", "linaboateng"),
    (77, "Samir Oduya", "samir-oduya-4042680e9"),
    (78, "Aisha Kovačić", "aisha-kovačić-b79ca4eb8"),
    (79, "Bas Sato", "bas-sato-7be0450"),
]


def _write(tmp_path, text, name="export.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# Connections.csv, 2024 format ------------------------------------------------


@pytest.mark.fixtures
def test_it_finds_the_2024_header_after_the_notes_preamble_and_reads_every_row():
    result = parse_connections_csv(shared_fixture(CONNECTIONS_2024))

    assert result.items_read == 75
    assert len(result.contacts) == 74
    assert [
        (int(c.position.removeprefix("line ")), c.full_name, c.linkedin_profile_id)
        for c in result.contacts
    ] == ROWS_2024
    assert result.warnings == []


@pytest.mark.fixtures
def test_it_reports_the_2024_row_with_no_name_and_no_url_by_its_line():
    result = parse_connections_csv(shared_fixture(CONNECTIONS_2024))

    assert result.errors == [RecordProblem("line 67", "no name and no profile URL")]


@pytest.mark.fixtures
def test_every_2024_url_is_the_canonical_key_of_its_slug():
    result = parse_connections_csv(shared_fixture(CONNECTIONS_2024))

    assert all(c.linkedin_url == LI + c.linkedin_profile_id for c in result.contacts)
    assert all(c.external_id == c.linkedin_profile_id for c in result.contacts)
    assert {c.source for c in result.contacts} == {"linkedin"}


@pytest.mark.fixtures
def test_it_decodes_percent_encoded_slugs_and_keeps_raw_unicode_ones():
    by_line = _by_line(parse_connections_csv(shared_fixture(CONNECTIONS_2024)))

    assert by_line[26].linkedin_url == LI + "nadia-böhm-e52e2a3c6"
    assert by_line[46].linkedin_url == LI + "sofia-jäättelä-589caba55"
    assert by_line[58].linkedin_url == LI + "noah-richter-holm🔸-d19f5359"
    assert by_line[68].linkedin_url == LI + "anouk-ødegaard"
    assert by_line[78].linkedin_url == LI + "aisha-kovačić-b79ca4eb8"


@pytest.mark.fixtures
def test_it_strips_emoji_and_flag_decorations_tabs_and_trailing_spaces_from_names():
    by_line = _by_line(parse_connections_csv(shared_fixture(CONNECTIONS_2024)))

    assert (by_line[6].given_name, by_line[6].family_name) == ("Felix", "Costa-Moreau")
    assert by_line[22].full_name == "Vera Brandt"  # 🇺🇦 flag
    assert by_line[48].full_name == "Jade van Stewart Boateng"  # 🌱
    assert by_line[55].given_name == "Arjun"  # "Arjun\t"
    assert by_line[58].full_name == "Noah Richter Holm"  # "Noah " + "Holm🔸"
    assert (by_line[64].given_name, by_line[64].family_name) == ("Leon", "Eklund")


@pytest.mark.fixtures
def test_it_keeps_titles_prefixes_and_parentheses_that_are_part_of_a_name():
    by_line = _by_line(parse_connections_csv(shared_fixture(CONNECTIONS_2024)))

    assert by_line[25].full_name == "Milan ( Ilse ) Sorensen"
    assert by_line[43].full_name == "Dr. Pablo Kaplan"
    assert by_line[74].full_name == "Prof. Dr. Milan Brandt"


@pytest.mark.fixtures
def test_it_reads_companies_titles_and_the_few_real_emails_of_2024():
    result = parse_connections_csv(shared_fixture(CONNECTIONS_2024))
    by_line = _by_line(result)

    assert by_line[16].title == "Principal Consultant, Business Performance"
    assert by_line[41].company == "ΔΠΜΣ Ζώα: Ηθική, Δίκαιο, Ευζωία"
    assert by_line[62].company == ""  # " -" is no company
    assert by_line[64].company == "80,000 Hours"
    assert by_line[66].company == "PharmAccess"
    assert by_line[69].company == "Data Science for Social Good Portugal"
    assert by_line[69].title == "Lead Team"
    assert by_line[43].title == "Case and Claims Manager"
    assert [(int(c.position[5:]), c.emails) for c in result.contacts if c.emails] == [
        (8, ("bruno.ulrich85@example.com",)),
        (54, ("alina.farouk55@example.com",)),
        (61, ("lena.lindqvist90@example.com",)),
        (65, ("bruno.janssen92@example.com",)),
        (72, ("freya.kaplan21@lamatu.example",)),
        (75, ("jana.okafor63@fracto.example",)),
        (77, ("samir.oduya41@example.com",)),
    ]


# Connections.csv, 2018 format ------------------------------------------------


@pytest.mark.fixtures
def test_it_reads_the_2018_format_without_preamble_or_url_column():
    result = parse_connections_csv(shared_fixture(CONNECTIONS_2018))

    assert result.items_read == 41
    assert [c.full_name for c in result.contacts] == NAMES_2018
    assert [c.position for c in result.contacts] == [f"line {n}" for n in range(2, 43)]
    assert {c.linkedin_url for c in result.contacts} == {""}
    assert {c.linkedin_profile_id for c in result.contacts} == {""}
    assert result.errors == []


@pytest.mark.fixtures
def test_it_drops_a_2018_member_urn_from_the_emails_with_a_warning():
    result = parse_connections_csv(shared_fixture(CONNECTIONS_2018))
    by_line = _by_line(result)

    assert by_line[41].full_name == "Vera Castillo"
    assert by_line[41].emails == ()
    assert by_line[41].external_id == ""
    assert result.warnings == [
        RecordProblem(
            "line 41",
            "Email Address holds a LinkedIn member id (urn:li:member:725665176), "
            "not an address; dropped it",
        )
    ]
    assert sum(1 for c in result.contacts if c.emails) == 40


@pytest.mark.fixtures
def test_it_keeps_2018_names_as_written_and_collapses_inner_spaces():
    by_line = _by_line(parse_connections_csv(shared_fixture(CONNECTIONS_2018)))

    assert by_line[18].given_name == "Sofia"  # "Sofia "
    assert by_line[27].family_name == "E . Dekker"  # "E .  Dekker"
    assert by_line[9].title == "BA (hons) Applied Psychology"
    assert by_line[12].company == (
        "The Startup Edge-Entrepreneurship Cell, Ramjas College."
    )
    assert by_line[13].company == ""
    assert by_line[13].title == ""
    assert by_line[2].emails == ("hugo.costa62@approveit.example",)


# Connections.csv, edge cases -------------------------------------------------


def test_it_keeps_a_contact_whose_url_is_a_company_page_without_the_url(tmp_path):
    path = _write(
        tmp_path,
        CONNECTION_HEADER
        + "Ann,Roe,https://www.linkedin.com/company/acme,,Acme,CEO,01 Jan 2024\n"
        + ",,https://uk.linkedin.com/in/Only-Url/,,,,01 Jan 2024\n"
        + ",,https://www.linkedin.com/school/x,,,,01 Jan 2024\n"
        + "Bo,Li,https://www.linkedin.com/in/bo-li,bo at example,,,01 Jan 2024\n",
    )

    result = parse_connections_csv(path)

    assert [(c.position, c.full_name, c.linkedin_url) for c in result.contacts] == [
        ("line 2", "Ann Roe", ""),
        ("line 3", "", LI + "only-url"),
        ("line 5", "Bo Li", LI + "bo-li"),
    ]
    assert result.errors == [RecordProblem("line 4", "no name and no profile URL")]
    assert result.warnings == [
        RecordProblem(
            "line 2",
            "URL 'https://www.linkedin.com/company/acme' is not a LinkedIn person "
            "profile; kept the contact without it",
        ),
        RecordProblem(
            "line 5", "Email Address 'bo at example' is not an address; dropped it"
        ),
    ]


def test_it_names_rows_after_a_multi_line_cell_by_their_first_physical_line(tmp_path):
    path = _write(
        tmp_path,
        'Notes:\n"a note\nover two lines"\n\n'
        + CONNECTION_HEADER
        + 'Ann,Roe,,,"Acme\nWest",CEO,01 Jan 2024\n'
        + ",,,,,,01 Jan 2024\n"
        + "\n"
        + "Bo,Li,,,,,01 Jan 2024\n",
    )

    result = parse_connections_csv(path)

    assert [(c.position, c.full_name, c.company) for c in result.contacts] == [
        ("line 6", "Ann Roe", "Acme West"),
        ("line 10", "Bo Li", ""),
    ]
    assert result.errors == [RecordProblem("line 8", "no name and no profile URL")]
    assert result.items_read == 3


def test_it_reports_a_file_without_a_connections_header(tmp_path):
    path = _write(tmp_path, "Name,Mail\nAnn,ann@example.com\n")

    result = parse_connections_csv(path)

    assert result.contacts == []
    assert result.errors == [
        RecordProblem("line 1", "no Connections.csv header row was found")
    ]


def test_it_reads_a_file_resaved_as_windows_1252_with_a_warning(tmp_path):
    path = tmp_path / "Connections.csv"
    path.write_bytes((CONNECTION_HEADER + "Zoë,Roe,,,,,01 Jan 2024\n").encode("cp1252"))

    result = parse_connections_csv(path)

    assert [c.full_name for c in result.contacts] == ["Zoë Roe"]
    assert result.warnings == [
        RecordProblem("file", "file is not UTF-8; read it as Windows-1252")
    ]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Lund🔸", "Lund"),
        ("Brandt🇺🇦", "Brandt"),
        ("🚀 Ann ✨", "Ann"),
        ("Ann 👍🏽", "Ann"),
        ("Ann ❤️", "Ann"),
        ("Ann\t  Roe", "Ann Roe"),
        ("Ann 🔸 Roe", "Ann 🔸 Roe"),
        ("ಪ್ರಜ್ವಲ್", "ಪ್ರಜ್ವಲ್"),
        ("🔸", ""),
    ],
)
def test_it_cuts_decorations_only_at_the_ends_of_a_name(raw, expected):
    assert clean_name(raw) == expected


# messages.csv, 2023 format ---------------------------------------------------


@pytest.mark.fixtures
def test_it_turns_the_2023_messages_into_23_interactions_and_skips_ten_rows():
    result = parse_messages_csv(shared_fixture(MESSAGES_2023))

    assert result.items_read == 33
    assert [
        (i.position, i.direction, i.participants[0].linkedin_profile_id)
        for i in result.interactions
    ] == [
        ("line 2", INBOUND, "meera-kulkarni-cc6577428"),
        ("line 3", OUTBOUND, "rohan-desai-c2f6d6bc6"),
        ("line 4", OUTBOUND, "rohan-desai-c2f6d6bc6"),
        ("line 5", OUTBOUND, "kavya-iyer-4e5a22fac"),
        ("line 6", INBOUND, "kavya-iyer-4e5a22fac"),
        ("line 7", OUTBOUND, "kavya-iyer-4e5a22fac"),
        ("line 8", INBOUND, "kavya-iyer-4e5a22fac"),
        ("line 10", INBOUND, "arvind-menon-180d6b2e6"),
        ("line 11", OUTBOUND, "sneha-rao"),
        ("line 12", INBOUND, "sneha-rao"),
        ("line 16", OUTBOUND, "vikram-shetty-e1b465e55"),
        ("line 17", OUTBOUND, "vikram-shetty-e1b465e55"),
        ("line 18", INBOUND, "divya-nair-1305fd2d2"),
        ("line 19", INBOUND, "karthik-bhat-s-490ca4c61"),
        ("line 20", INBOUND, "pooja-hegde"),
        ("line 21", INBOUND, "prajwal"),
        ("line 22", OUTBOUND, "prajwal"),
        ("line 23", INBOUND, "prajwal"),
        ("line 24", INBOUND, "ananya-pillai-6e8c4bf14"),
        ("line 25", INBOUND, "ananya-pillai-6e8c4bf14"),
        ("line 26", INBOUND, "suresh-gowda"),
        ("line 27", INBOUND, "lakshmi-reddy-4d3334955"),
        ("line 28", INBOUND, "farhan-qureshi-d46af783b"),
    ]
    assert result.warnings == []


@pytest.mark.fixtures
def test_it_skips_2023_system_sponsored_and_urlless_rows_with_reasons():
    result = parse_messages_csv(shared_fixture(MESSAGES_2023))

    sponsored = "sponsored message from 'LinkedIn Member' with no profile URL"

    def no_url(name):
        return (
            f"sender {name!r} has no profile URL (InMail or company message), "
            "so it names no person"
        )

    assert result.errors == [
        RecordProblem("line 9", sponsored),
        RecordProblem("line 13", no_url("Nikita @ LinkedIn Learning")),
        RecordProblem("line 14", sponsored),
        RecordProblem(
            "line 15",
            "system message with no sender or recipient: 'Message request accepted'",
        ),
        RecordProblem("line 29", sponsored),
        RecordProblem("line 30", sponsored),
        RecordProblem("line 31", no_url("Isha Malhotra")),
        RecordProblem("line 32", no_url("Tanvi Kapoor")),
        RecordProblem("line 33", no_url("Rahul Verma")),
        RecordProblem("line 34", no_url("Neha Gupta")),
    ]


@pytest.mark.fixtures
def test_it_keys_2023_messages_by_conversation_and_raw_date():
    result = parse_messages_csv(shared_fixture(MESSAGES_2023))
    first = result.interactions[0]

    assert first.reference_id == (
        "linkedin:2-ZjI5ODgxMjgtOWZhZS00M2E2LWFkMzMtZjRhNjk3MWI5YWExXzAxMA==:"
        "2023-04-22 08:18:59 UTC"
    )
    assert first.occurred_at == dt.datetime(2023, 4, 22, 8, 18, 59, tzinfo=dt.UTC)
    assert first.platform == "linkedin"
    assert first.per_contact is False
    assert first.participants == (
        Participant(
            linkedin_profile_id="meera-kulkarni-cc6577428", name="Meera Kulkarni"
        ),
    )
    assert len({i.reference_id for i in result.interactions}) == 23


@pytest.mark.fixtures
def test_it_cuts_2023_previews_to_500_characters_and_keeps_emoji():
    by_line = {
        i.position: i
        for i in parse_messages_csv(shared_fixture(MESSAGES_2023)).interactions
    }

    assert len(by_line["line 2"].content_preview) == 500
    assert by_line["line 2"].content_preview.startswith(
        "We are hiring for Database Developer Experience:- 5 to 8 Years"
    )
    assert by_line["line 20"].content_preview == "Its going good😀"
    assert by_line["line 24"].content_preview == "😇"
    assert by_line["line 26"].content_preview == (
        'Hello , I\'m looking for a" SQL Developer". Kindly share your resume '
        "to recruiter47@company.example"
    )


@pytest.mark.fixtures
def test_it_returns_one_contact_per_2023_counterpart_and_none_for_the_user():
    result = parse_messages_csv(shared_fixture(MESSAGES_2023))

    assert [(c.position, c.full_name, c.linkedin_url) for c in result.contacts] == [
        ("line 2", "Meera Kulkarni", LI + "meera-kulkarni-cc6577428"),
        ("line 3", "Rohan Desai", LI + "rohan-desai-c2f6d6bc6"),
        ("line 5", "Kavya Iyer", LI + "kavya-iyer-4e5a22fac"),
        ("line 10", "Arvind Menon", LI + "arvind-menon-180d6b2e6"),
        ("line 11", "Sneha Rao", LI + "sneha-rao"),
        ("line 16", "Vikram Shetty", LI + "vikram-shetty-e1b465e55"),
        ("line 18", "Divya Nair", LI + "divya-nair-1305fd2d2"),
        ("line 19", "Karthik Bhat .S", LI + "karthik-bhat-s-490ca4c61"),
        ("line 20", "Pooja Hegde", LI + "pooja-hegde"),
        ("line 21", "ಪ್ರಜ್ವಲ್/ Prajwal", LI + "prajwal"),
        ("line 24", "Ananya Pillai", LI + "ananya-pillai-6e8c4bf14"),
        ("line 26", "Suresh Gowda", LI + "suresh-gowda"),
        ("line 27", "Lakshmi Reddy", LI + "lakshmi-reddy-4d3334955"),
        ("line 28", "farhan qureshi", LI + "farhan-qureshi-d46af783b"),
    ]
    assert all(
        c
        == ContactRecord(
            source="linkedin",
            position=c.position,
            external_id=c.linkedin_profile_id,
            full_name=c.full_name,
            linkedin_url=c.linkedin_url,
            linkedin_profile_id=c.linkedin_profile_id,
        )
        for c in result.contacts
    )


@pytest.mark.fixtures
def test_it_gives_the_same_2023_answer_when_told_who_the_user_is():
    guessed = parse_messages_csv(shared_fixture(MESSAGES_2023))
    by_url = parse_messages_csv(
        shared_fixture(MESSAGES_2023),
        own_profile_urls=frozenset({"http://in.linkedin.com/in/Aditi-Sorensen/"}),
    )
    by_name = parse_messages_csv(
        shared_fixture(MESSAGES_2023), own_name="Aditi Sorensen"
    )

    assert by_url.interactions == guessed.interactions
    assert by_name.interactions == guessed.interactions
    assert by_url.warnings == by_name.warnings == []


# messages.csv, 2025 format ---------------------------------------------------


@pytest.mark.fixtures
def test_it_finds_the_2025_owner_although_others_sent_more_messages():
    result = parse_messages_csv(shared_fixture(MESSAGES_2025))

    assert result.items_read == 17
    assert len(result.interactions) == 17
    assert [c.linkedin_profile_id for c in result.contacts] == [
        "willemspaan",
        "erikdekkers",
    ]
    assert [(c.position, c.full_name) for c in result.contacts] == [
        ("line 3", "Willem Spaan"),
        ("line 5", "Erik Dekkers"),
    ]


@pytest.mark.fixtures
def test_it_splits_a_2025_group_message_from_the_user_into_one_record_per_person():
    result = parse_messages_csv(shared_fixture(MESSAGES_2025))
    conversation = "2-NDBmZjZmMTEtMzViMi00OTU4LTllMzUtYzFlMjdhMDcwYjBjXzAxMg=="

    outbound = [i for i in result.interactions if i.direction == OUTBOUND]

    assert [(i.position, i.reference_id, i.participants) for i in outbound] == [
        (
            "line 17",
            f"linkedin:{conversation}:2024-09-28 08:00:39 UTC:willemspaan",
            (Participant(linkedin_profile_id="willemspaan", name="Willem Spaan"),),
        ),
        (
            "line 17",
            f"linkedin:{conversation}:2024-09-28 08:00:39 UTC:erikdekkers",
            (Participant(linkedin_profile_id="erikdekkers", name="Erik Dekkers"),),
        ),
    ]


@pytest.mark.fixtures
def test_it_counts_a_2025_group_message_from_someone_else_with_its_sender_only():
    result = parse_messages_csv(shared_fixture(MESSAGES_2025))

    inbound = [i for i in result.interactions if i.direction == INBOUND]

    assert [(i.position, i.participants[0].linkedin_profile_id) for i in inbound] == [
        ("line 3", "willemspaan"),
        ("line 4", "willemspaan"),
        ("line 5", "erikdekkers"),
        ("line 6", "erikdekkers"),
        ("line 7", "erikdekkers"),
        ("line 8", "willemspaan"),
        ("line 9", "erikdekkers"),
        ("line 10", "willemspaan"),
        ("line 11", "willemspaan"),
        ("line 12", "willemspaan"),
        ("line 13", "erikdekkers"),
        ("line 14", "willemspaan"),
        ("line 15", "erikdekkers"),
        ("line 16", "willemspaan"),
        ("line 18", "willemspaan"),
    ]
    assert inbound[0].reference_id.endswith(":2025-10-26 14:41:51 UTC:willemspaan")
    assert len({i.reference_id for i in result.interactions}) == 17


@pytest.mark.fixtures
def test_it_skips_the_2025_company_inmail_and_keeps_an_attachment_only_message():
    result = parse_messages_csv(shared_fixture(MESSAGES_2025))
    by_line = {i.position: i for i in result.interactions}

    assert result.errors == [
        RecordProblem(
            "line 2",
            "sender 'Robert Kennedy College' has no profile URL "
            "(InMail or company message), so it names no person",
        )
    ]
    assert by_line["line 13"].content_preview == ""
    assert by_line["line 11"].content_preview == "🤣🤣🤣🤣🤣🤣"
    assert by_line["line 18"].occurred_at == dt.datetime(
        2024, 9, 24, 14, 33, 3, tzinfo=dt.UTC
    )


@pytest.mark.fixtures
def test_it_keeps_a_url_only_2025_message_as_written():
    by_line = {
        i.position: i
        for i in parse_messages_csv(shared_fixture(MESSAGES_2025)).interactions
    }

    assert by_line["line 16"].content_preview.startswith(
        "https://www.linkedin.com/posts/jeroen-visser-41c7a2e9_%F0%9D%97%A3"
    )
    assert len(by_line["line 16"].content_preview) == 361


# messages.csv, edge cases ----------------------------------------------------


def _message(conv, sender, sender_url, to, to_urls, date, content, draft="No"):
    cells = [conv, "", sender, sender_url, to, to_urls, date, "", content, "INBOX"]
    cells += ["", draft]
    return ",".join(f'"{cell}"' for cell in cells) + "\n"


ME = ("Me Myself", LI + "me-myself")
ANN = ("Ann Roe", LI + "ann-roe")


def test_it_skips_drafts_and_bad_dates_with_reasons(tmp_path):
    path = _write(
        tmp_path,
        MESSAGE_HEADER_12
        + _message("c1", *ME, *ANN, "2024-01-02 10:00:00 UTC", "hello")
        + _message("c1", *ME, *ANN, "2024-01-03 10:00:00 UTC", "unsent", draft="Yes")
        + _message("c1", *ANN, *ME, "yesterday", "hi")
        + _message("c1", *ANN, *ME, "2024-01-04 25:00:00 UTC", "hi"),
    )

    result = parse_messages_csv(path, own_profile_urls=frozenset({ME[1]}))

    assert [(i.position, i.direction) for i in result.interactions] == [
        ("line 2", OUTBOUND)
    ]
    assert result.errors == [
        RecordProblem("line 3", "draft that was never sent"),
        RecordProblem(
            "line 4", "DATE 'yesterday' is not a date like '2023-05-01 10:12:13 UTC'"
        ),
        RecordProblem(
            "line 5",
            "DATE '2024-01-04 25:00:00 UTC' is not a date like "
            "'2023-05-01 10:12:13 UTC'",
        ),
    ]


def test_it_strips_html_from_the_preview_and_leaves_plain_angle_brackets(tmp_path):
    html = (
        '<p class=""x"">Hi Ann,</p><p><br></p><ul><li><strong>One</strong>'
        "&nbsp;&amp; two</li></ul>"
    )
    path = _write(
        tmp_path,
        MESSAGE_HEADER_12
        + _message("c1", *ANN, *ME, "2024-01-02 10:00:00 UTC", html)
        + _message("c1", *ANN, *ME, "2024-01-02 10:00:01 UTC", "a <3 b &amp; c > d")
        + _message("c1", *ANN, *ME, "2024-01-02 10:00:02 UTC", "x" * 600),
    )

    result = parse_messages_csv(path, own_profile_urls=frozenset({ME[1]}))

    assert [i.content_preview for i in result.interactions] == [
        "Hi Ann, One & two",
        "a <3 b &amp; c > d",
        "x" * 500,
    ]


def test_it_warns_when_two_messages_share_the_original_second_precision_key(
    tmp_path,
):
    path = _write(
        tmp_path,
        MESSAGE_HEADER_12
        + _message("c1", *ANN, *ME, "2024-01-02 10:00:00 UTC", "hi")
        + _message("c1", *ME, *ANN, "2024-01-02 10:00:00 UTC", "hi back"),
    )

    result = parse_messages_csv(path, own_profile_urls=frozenset({ME[1]}))

    assert len(result.interactions) == 2
    assert result.warnings == [
        RecordProblem(
            "line 3", "same conversation and time as line 2; only one of them is kept"
        )
    ]


def test_it_warns_when_it_cannot_tell_which_of_two_people_is_the_user(tmp_path):
    # A 10-column header: the two extra cells _message writes are ignored.
    path = _write(
        tmp_path,
        MESSAGE_HEADER_10
        + _message("c1", *ANN, *ME, "2024-01-02 10:00:00 UTC", "hi")
        + _message("c1", *ANN, *ME, "2024-01-02 10:00:05 UTC", "you there?")
        + _message("c1", *ME, *ANN, "2024-01-02 10:01:00 UTC", "yes"),
    )

    guessed = parse_messages_csv(path)
    told = parse_messages_csv(path, own_name="Me Myself")

    assert [i.direction for i in guessed.interactions] == [OUTBOUND, OUTBOUND, INBOUND]
    assert guessed.warnings == [
        RecordProblem(
            "file",
            "could not tell which of 2 profiles is yours; took "
            "https://www.linkedin.com/in/ann-roe, who sent the most messages",
        )
    ]
    assert [i.direction for i in told.interactions] == [INBOUND, INBOUND, OUTBOUND]
    assert told.warnings == []


def test_it_rejects_messages_that_do_not_involve_the_given_user(tmp_path):
    bob = ("Bob Bee", "https://uk.linkedin.com/in/Bob-Bee?trk=x")
    path = _write(
        tmp_path,
        MESSAGE_HEADER_12
        + _message("c1", *ANN, *bob, "2024-01-02 10:00:00 UTC", "hi")
        + _message(
            "c2", *ME, "Acme", LI[:-3] + "company/acme", "2024-01-02 10:00:00 UTC", "x"
        )
        + _message(
            "c3", "Acme", LI[:-3] + "company/acme", *ME, "2024-01-02 10:00:00 UTC", "x"
        ),
    )

    result = parse_messages_csv(path, own_profile_urls=frozenset({ME[1]}))

    assert result.interactions == []
    assert result.contacts == []
    assert result.errors == [
        RecordProblem("line 2", "neither the sender nor any recipient is you"),
        RecordProblem(
            "line 3", "no recipient other than you has a LinkedIn profile URL"
        ),
        RecordProblem(
            "line 4",
            "sender profile URL 'https://www.linkedin.com/company/acme' "
            "is not a LinkedIn person profile",
        ),
    ]


def test_it_reports_a_file_without_a_messages_header(tmp_path):
    result = parse_messages_csv(_write(tmp_path, "a,b\n1,2\n"))

    assert result.errors == [
        RecordProblem("line 1", "no messages.csv header row was found")
    ]
    assert result.items_read == 0


def _by_line(result):
    return {int(c.position.removeprefix("line ")): c for c in result.contacts}
