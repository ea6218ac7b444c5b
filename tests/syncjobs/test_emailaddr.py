"""Address, name, date and Message-ID parsing shared by every e-mail source."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from syncjobs.emailaddr import (
    contact_name,
    counterparts,
    decode_header_text,
    fallback_reference,
    message_reference,
    normalise_email,
    parse_address_header,
    parse_date_header,
)

# --- B12: parse first, then decode -----------------------------------------


def test_it_keeps_an_encoded_comma_inside_the_display_name():
    assert parse_address_header(
        "=?iso-8859-1?Q?Doe=2C_J=F6rg?= <j.doe@example.com>"
    ) == [("Doe, Jörg", "j.doe@example.com")]


def test_it_reads_a_quoted_comma_name_and_an_encoded_name_as_two_entries():
    assert parse_address_header(
        '"Roe, Ann" <ann@example.org>, =?utf-8?q?Bob_Example?= <bob@example.net>'
    ) == [("Roe, Ann", "ann@example.org"), ("Bob Example", "bob@example.net")]


def test_it_keeps_an_encoded_comma_with_a_latin1_sharp_s():
    assert parse_address_header(
        "=?iso-8859-1?Q?Last=DFlName=2C_FirstName?= <comma.name@example.com>"
    ) == [("LastßlName, FirstName", "comma.name@example.com")]


def test_it_mixes_bare_and_encoded_quoted_names():
    assert parse_address_header(
        "simple@example.net, =?UTF-8?Q?John_=22Johnny=22_Doe?= <john.doe@example.com>"
    ) == [("", "simple@example.net"), ('John "Johnny" Doe', "john.doe@example.com")]


# --- lists and groups -------------------------------------------------------


def test_it_returns_nothing_for_an_empty_group():
    assert parse_address_header("undisclosed recipients: ;") == []


def test_it_returns_the_members_of_a_group_and_the_addresses_around_it():
    assert parse_address_header(
        "Team: a@example.com, b@example.com;, c@example.com"
    ) == [
        ("", "a@example.com"),
        ("", "b@example.com"),
        ("", "c@example.com"),
    ]


def test_it_reads_a_folded_list_with_a_blank_continuation_and_a_trailing_comma():
    value = (
        "leads@sg.dc.com,\r\n\t sag@leads.gs.ry.com,\r\n\t jp@t-exmaple.com,"
        "\r\n\t \r\n\tcc@c-l-example.com,"
    )
    assert parse_address_header(value) == [
        ("", "leads@sg.dc.com"),
        ("", "sag@leads.gs.ry.com"),
        ("", "jp@t-exmaple.com"),
        ("", "cc@c-l-example.com"),
    ]


def test_it_reads_two_mailboxes_in_one_from_header():
    assert parse_address_header(
        "Mika Linden <test@linden.example>, jack@linden.example"
    ) == [("Mika Linden", "test@linden.example"), ("", "jack@linden.example")]


def test_it_takes_the_angle_address_when_the_display_name_contains_an_at_sign():
    # The stdlib parser alone returns "Mika@Linden" as the address here.
    assert parse_address_header(
        "smith@example.com, Mika@Linden <mlinden@example.com>, tom@example.com"
    ) == [
        ("", "smith@example.com"),
        ("Mika@Linden", "mlinden@example.com"),
        ("", "tom@example.com"),
    ]


def test_it_reads_raw_utf8_names_and_internationalised_addresses():
    assert parse_address_header('"Jöhn Doe" <jdöe@mächine.example>') == [
        ("Jöhn Doe", "jdöe@mächine.example")
    ]


def test_it_decodes_raw_utf8_bytes_left_as_surrogates_by_the_email_package():
    raw = '"M\udcc3\udca4ry Smith" <m\udcc3\udca4ry@ex\udcc3\udca4mple.net>'
    assert parse_address_header(raw) == [("Märy Smith", "märy@exämple.net")]


def test_it_reads_an_exchange_x500_dn_as_the_display_name():
    value = (
        "/O=EXEMPLE/OU=EXCHANGE/CN=RECIPIENTS/CN=4F2A9C1B7D3E4A5B8C6D7E8F9A0B1C2D-PAUL"
        " <paul.petit@client-exemple.com>"
    )
    assert parse_address_header(value) == [
        (
            "/O=EXEMPLE/OU=EXCHANGE/CN=RECIPIENTS/CN=4F2A9C1B7D3E4A5B8C6D7E8F9A0B1C2D-PAUL",
            "paul.petit@client-exemple.com",
        )
    ]


def test_it_recovers_an_address_missing_its_closing_bracket():
    assert parse_address_header("Foo <a@example.com") == [("Foo", "a@example.com")]


def test_it_never_returns_an_entry_without_an_address():
    assert parse_address_header("foo") == []
    assert parse_address_header("x@") == []
    assert parse_address_header("<>") == []
    assert parse_address_header(",,,") == []
    assert parse_address_header("") == []
    assert parse_address_header("Doe, Jörg <j.doe@example.com>") == [
        ("Jörg", "j.doe@example.com")
    ]


@given(st.text())
def test_it_never_raises_and_every_entry_has_an_address_for_any_text(value):
    for name, address in parse_address_header(value):
        assert isinstance(name, str)
        assert "@" in address


_HEADERISH = st.text(
    alphabet=st.sampled_from(list('ab@.<>",;:()=?_\\ \t\r\nQBé\udcc3')), max_size=60
)


@given(_HEADERISH)
def test_it_never_raises_on_text_made_of_header_syntax(value):
    for _, address in parse_address_header(value):
        assert "@" in address


# --- normalise_email and contact_name ---------------------------------------


def test_it_normalises_an_address_by_trimming_and_lower_casing():
    assert normalise_email("  Alice.Durand@Fournisseur-Exemple.FR ") == (
        "alice.durand@fournisseur-exemple.fr"
    )
    assert normalise_email("<Bob@Example.com>") == "bob@example.com"


def test_it_normalises_something_that_is_no_address_to_an_empty_string():
    assert normalise_email("foo") == ""
    assert normalise_email("@example.com") == ""
    assert normalise_email("a b@example.com") == ""
    assert normalise_email("") == ""


def test_it_drops_a_display_name_that_is_only_the_address():
    assert contact_name("tony.stark@example.com", "tony.stark@example.com") == ""
    assert contact_name("'Bob@Example.com'", "bob@example.com") == ""


def test_it_drops_an_exchange_dn_as_a_contact_name():
    assert (
        contact_name("/O=EXEMPLE/OU=EXCHANGE/CN=RECIPIENTS/CN=X-PAUL", "p@e.com") == ""
    )


def test_it_keeps_a_real_name_with_its_spacing_tidied():
    assert contact_name("  DURAND   Alice ", "alice@example.fr") == "DURAND Alice"


# --- counterparts -----------------------------------------------------------


def test_it_makes_a_mail_from_someone_else_inbound_with_only_the_sender():
    direction, others = counterparts(
        senders=[("Ann", "Ann@Example.org")],
        recipients=[("", "me@example.com"), ("Cc Person", "cc@example.org")],
        own_addresses=frozenset({"ME@example.com"}),
    )
    assert direction == "inbound"
    assert others == [("Ann", "ann@example.org")]


def test_it_makes_a_mail_from_the_user_outbound_with_the_recipients_minus_self():
    direction, others = counterparts(
        senders=[("Me", "me@example.com")],
        recipients=[
            ("Ann", "ann@example.org"),
            ("", "me@example.com"),
            ("", "ANN@example.org"),
            ("Bob", "bob@example.net"),
        ],
        own_addresses=frozenset({"me@example.com"}),
    )
    assert direction == "outbound"
    assert others == [("Ann", "ann@example.org"), ("Bob", "bob@example.net")]


def test_it_fills_a_counterparts_name_from_a_later_mention():
    _, others = counterparts(
        senders=[("", "me@example.com")],
        recipients=[("", "ann@example.org"), ("Ann Roe", "ann@example.org")],
        own_addresses=frozenset({"me@example.com"}),
    )
    assert others == [("Ann Roe", "ann@example.org")]


# --- subject, date, Message-ID ----------------------------------------------


def test_it_joins_adjacent_encoded_words_without_a_space():
    value = (
        "=?ISO-2022-JP?B?GyRCRnxLXDhsJWEhPCVrJUYlOSVIGyhCICh0ZXN0aW5nIEph?=\n"
        " =?ISO-2022-JP?B?cGFuZXNlIGVtYWlscyk=?="
    )
    assert decode_header_text(value) == "日本語メールテスト (testing Japanese emails)"


def test_it_decodes_encoded_words_mixed_with_plain_text():
    value = "Re: Test: =?UTF-8?B?Iua8ouWtlyI=?= mid =?UTF-8?B?Iua8ouWtlyI=?= tail"
    assert decode_header_text(value) == 'Re: Test: "漢字" mid "漢字" tail'


def test_it_reads_a_date_header_as_aware_utc():
    assert parse_date_header("Thu, 3 Dec 2009 10:50:22 -0800 (PST)") == dt.datetime(
        2009, 12, 3, 18, 50, 22, tzinfo=dt.UTC
    )
    assert parse_date_header("Fri, 23 Aug 2002 2:32:53 -0400") == dt.datetime(
        2002, 8, 23, 6, 32, 53, tzinfo=dt.UTC
    )


def test_it_reads_a_minus_zero_offset_as_utc():
    assert parse_date_header("Mon, 2 Mar 2026 10:30:00 -0000") == dt.datetime(
        2026, 3, 2, 10, 30, tzinfo=dt.UTC
    )


def test_it_refuses_a_date_it_cannot_read_instead_of_guessing():
    assert parse_date_header("garbage") is None
    assert parse_date_header("Mon, 32 Mar 2026 10:30:00 +0000") is None
    assert parse_date_header("") is None


def test_it_builds_the_reference_from_the_message_id_without_brackets():
    assert message_reference(" <55AE6D15.4010805@example.jp>") == (
        "email:55AE6D15.4010805@example.jp"
    )
    assert message_reference("bare-id@example.jp") == "email:bare-id@example.jp"
    assert message_reference("") == ""


def test_it_hashes_from_date_and_subject_when_there_is_no_message_id():
    first = fallback_reference(sender="a@b.c", date="Mon, 2 Mar 2026", subject="Hi")
    again = fallback_reference(sender="a@b.c", date="Mon, 2 Mar 2026", subject="Hi")
    other = fallback_reference(sender="a@b.c", date="Mon, 2 Mar 2026", subject="Yo")
    assert first == again
    assert first != other
    assert first.startswith("email:hash-")
    assert len(first) == len("email:hash-") + 32
