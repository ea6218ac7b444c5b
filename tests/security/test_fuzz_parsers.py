"""Property tests: every parser and normaliser survives hostile input.

For each one, hypothesis generates input, from plain random text and bytes
to structured input built to hit the hard cases (encoded words, folding,
quoted-printable, extreme dates, wrong JSON types), and checks that the
function returns a value of the documented shape or a documented error,
never an unhandled exception. Bad records must come back as RecordProblem
with a position naming them.

The real fixture files in ../shared/fixtures are also cut at random byte
offsets and corrupted, then parsed: records plus problems, never a crash,
and the records of a cut file are the full file's own records (nothing is
invented from the broken end).

Each property prints how many examples it ran (``pytest -s``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.test import APIClient

from contacts.birthdays import Birthday, BirthdayError, parse_birthday
from contacts.serializers import BirthdayField
from linkedin.export import parse_connections_csv, parse_messages_csv
from linkedin.matching import profile_url_key_of_id
from linkedin.profile_urls import (
    CANONICAL_PREFIX,
    MAX_SLUG_LENGTH,
    normalise_profile_url,
    profile_id_from_url,
)
from syncjobs.emailaddr import (
    counterparts,
    decode_header_text,
    fallback_reference,
    message_reference,
    normalise_email,
    parse_address_header,
    parse_date_header,
)
from syncjobs.imports.google_csv import parse_google_csv_data
from syncjobs.imports.mail import parse_mail_bytes, parse_mbox, split_mbox
from syncjobs.imports.twitter_archive import parse_twitter_archive
from syncjobs.imports.vcard import parse_vcard_data
from syncjobs.providers.google_calendar import _interaction
from syncjobs.providers.twitter import _as_int
from syncjobs.records import (
    DIRECTIONS,
    ContactRecord,
    InteractionRecord,
    ParseResult,
    RecordProblem,
)
from tests.conftest import SHARED_FIXTURES, shared_fixture

EXAMPLES: Counter[str] = Counter()
FAST = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MEDIUM = settings(FAST, max_examples=150)
SLOW = settings(FAST, max_examples=60)


@pytest.fixture(autouse=True)
def _report_examples(request):
    yield
    name = request.node.name
    if EXAMPLES[name]:
        print(f"\n{name}: {EXAMPLES[name]} examples")


def _count(name: str) -> None:
    EXAMPLES[name] += 1


# --- shared strategies ---------------------------------------------------------

# Raw header bytes as the email package hands them over: undecodable bytes
# become lone surrogates.
surrogate_text = st.binary(max_size=80).map(
    lambda raw: raw.decode("utf-8", "surrogateescape")
)
any_text = st.one_of(st.text(max_size=80), surrogate_text)
tricky_chars = st.sampled_from(
    [*",;:<>@\"'()\\=?% \t\r\n/.", "\u200b", "\ufeff", "\u00e9", "\ufffd", "²"]
)
tricky_text = st.lists(st.one_of(tricky_chars, st.text(max_size=5)), max_size=15).map(
    "".join
)


def _edge_or(edges: list[int], low: int, high: int) -> st.SearchStrategy[int]:
    """Half the time a calendar edge, else any value in [low, high]."""
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


def _iso_moment() -> st.SearchStrategy[str]:
    """ISO-8601 times, the calendar's first and last days and big offsets included."""
    return st.builds(
        lambda year, month, day, hour, offset, sep: (
            f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:00:00{offset}"
        ),
        year=_edge_or([1, 9999], 1, 9999),
        month=_edge_or([1, 12], 1, 12),
        day=_edge_or([1, 31], 1, 28),
        hour=_edge_or([0, 23], 0, 23),
        offset=st.sampled_from(
            ["", "Z", "+00:00", "+01:00", "-01:00", "+14:00", "-12:00"]
        ),
        sep=st.sampled_from(["T", " "]),
    )


def _problems_are_positioned(result: ParseResult, pattern: str) -> None:
    for problem in [*result.errors, *result.warnings]:
        assert isinstance(problem, RecordProblem)
        assert re.fullmatch(pattern, problem.position), problem
        assert problem.reason and isinstance(problem.reason, str)


def _records_are_sound(result: ParseResult) -> None:
    assert isinstance(result, ParseResult)
    for contact in result.contacts:
        assert isinstance(contact, ContactRecord)
        assert (
            contact.full_name
            or contact.emails
            or contact.phones
            or (contact.linkedin_profile_id or contact.twitter_user_id)
        ), contact
        assert all(isinstance(email, str) and email for email in contact.emails)
    for interaction in result.interactions:
        assert isinstance(interaction, InteractionRecord)
        assert interaction.direction in DIRECTIONS
        assert interaction.occurred_at.tzinfo is not None
        assert interaction.reference_id
        assert interaction.participants


# --- LinkedIn profile URLs -----------------------------------------------------

linkedin_urls = st.builds(
    lambda scheme, host, segments, tail: (
        scheme + host + "/" + "/".join(segments) + tail
    ),
    scheme=st.sampled_from(
        ["https://", "http://", "//", "", "HTTPS://", "javascript:", "ftp://", "data:"]
    ),
    host=st.sampled_from(
        [
            "www.linkedin.com",
            "linkedin.com",
            "uk.linkedin.com",
            "M.LinkedIn.com.",
            "linkedin.com.evil.example",
            "notlinkedin.com",
            "[::1",
            "www.linkedin.com:443",
            "www.linkedin.com:99999",
            "user@www.linkedin.com",
            "ｌｉｎｋｅｄｉｎ.com",
        ]
    ),
    segments=st.lists(
        st.one_of(
            st.sampled_from(
                ["in", "IN", "pub", "company", "details", "%2F", "%25", ".."]
            ),
            tricky_text,
            st.text(max_size=120),
        ),
        max_size=4,
    ),
    tail=st.sampled_from(["", "/", "?trk=x", "#about", "%", "%E2%82", "\u200b"]),
)


@FAST
@given(st.one_of(linkedin_urls, any_text, st.none()))
def test_a_profile_url_normalises_to_a_canonical_key_or_to_nothing(value):
    _count("test_a_profile_url_normalises_to_a_canonical_key_or_to_nothing")

    key = normalise_profile_url(value)

    assert isinstance(key, str)
    if key:
        slug = key.removeprefix(CANONICAL_PREFIX)
        assert key.startswith(CANONICAL_PREFIX)
        assert 0 < len(slug) <= MAX_SLUG_LENGTH
        assert normalise_profile_url(key) == key
        assert profile_id_from_url(value) == slug
    else:
        assert profile_id_from_url(value) == ""


@FAST
@given(st.one_of(any_text, tricky_text))
def test_a_pushed_profile_id_gives_a_canonical_key_or_nothing(profile_id):
    _count("test_a_pushed_profile_id_gives_a_canonical_key_or_nothing")

    key = profile_url_key_of_id(profile_id)

    assert key == "" or normalise_profile_url(key) == key


# --- birthdays -------------------------------------------------------------------

date_like = st.builds(
    lambda year, month, day, sep, tail: f"{year}{sep}{month}{sep}{day}{tail}",
    year=st.one_of(
        st.just(""),
        st.just("-"),
        st.integers(0, 99999).map(str),
        st.integers(0, 9999).map(lambda y: f"{y:04d}"),
        st.sampled_from(["١٩٩٠", "０１"]),
    ),
    month=st.one_of(
        st.integers(0, 99).map(str), st.integers(0, 13).map(lambda m: f"{m:02d}")
    ),
    day=st.one_of(
        st.integers(0, 99).map(str), st.integers(0, 32).map(lambda d: f"{d:02d}")
    ),
    sep=st.sampled_from(["-", "/", "", "."]),
    tail=st.sampled_from(["", "T10:00:00Z", " 23:10", "T", "\n", " garbage"]),
)


def _check_birthday(value) -> None:
    assert isinstance(value, Birthday)
    assert Birthday.from_api(value.to_api()) == value
    assert value.to_date().month == value.month


@FAST
@given(st.one_of(date_like, any_text, st.just("--02-29")))
def test_a_birthday_string_is_a_birthday_none_or_a_birthday_error(text):
    _count("test_a_birthday_string_is_a_birthday_none_or_a_birthday_error")
    try:
        value = parse_birthday(text)
    except BirthdayError:
        return
    if value is not None:
        _check_birthday(value)


@FAST
@given(st.one_of(date_like, any_text))
def test_an_api_birthday_is_strict_and_fails_only_with_a_birthday_error(text):
    _count("test_an_api_birthday_is_strict_and_fails_only_with_a_birthday_error")
    try:
        value = Birthday.from_api(text)
    except BirthdayError:
        return
    _check_birthday(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@FAST
@given(st.one_of(date_like, json_values))
def test_the_contact_birthday_field_takes_any_json_and_answers_a_400_at_worst(data):
    _count("test_the_contact_birthday_field_takes_any_json_and_answers_a_400_at_worst")
    try:
        value = BirthdayField().to_internal_value(data)
    except serializers.ValidationError:
        return
    assert value is None or isinstance(value, Birthday)


# --- e-mail addresses and headers --------------------------------------------------

local_parts = st.one_of(
    st.from_regex(r"[a-zA-Z0-9._%+-]{1,12}", fullmatch=True), tricky_text, any_text
)
domains = st.one_of(
    st.from_regex(r"[a-z0-9-]{1,10}\.[a-z]{2,4}", fullmatch=True),
    st.sampled_from(["mächine.example", "[127.0.0.1]", "localhost", ""]),
    tricky_text,
)
display_names = st.one_of(
    st.text(max_size=20),
    tricky_text,
    st.builds(lambda t: f'"{t}"', tricky_text),
    st.builds(
        lambda charset, enc, t: f"=?{charset}?{enc}?{t}?=",
        st.sampled_from(["utf-8", "iso-8859-1", "iso-2022-jp", "x-unknown", ""]),
        st.sampled_from(["Q", "B", "q", "X"]),
        st.text(alphabet="ABCDEFabcdef0123456789=_,+/", max_size=20),
    ),
)
mailboxes = st.builds(
    lambda name, local, domain, form: form.format(name=name, addr=f"{local}@{domain}"),
    display_names,
    local_parts,
    domains,
    st.sampled_from(
        ["{name} <{addr}>", "{addr}", "<{addr}>", "{addr} ({name})", "{name}:{addr};"]
    ),
)
address_headers = st.one_of(
    st.lists(mailboxes, max_size=5).map(", ".join),
    st.lists(st.one_of(mailboxes, tricky_text), max_size=6).map(
        lambda parts: "\r\n ".join(parts)
    ),
    any_text,
)


@FAST
@given(st.one_of(local_parts, mailboxes, any_text))
def test_an_email_normalises_to_a_lower_case_address_or_to_nothing(value):
    _count("test_an_email_normalises_to_a_lower_case_address_or_to_nothing")

    address = normalise_email(value)

    assert isinstance(address, str)
    if address:
        assert "@" in address
        assert address == address.lower()
        assert normalise_email(address) == address


@FAST
@given(address_headers)
def test_an_address_header_gives_only_pairs_with_a_real_address(value):
    _count("test_an_address_header_gives_only_pairs_with_a_real_address")

    pairs = parse_address_header(value)

    for name, address in pairs:
        assert isinstance(name, str)
        assert normalise_email(address), (value, address)


@FAST
@given(address_headers, address_headers, st.lists(local_parts, max_size=2))
def test_the_counterparts_of_a_message_are_never_the_user(senders, recipients, own):
    _count("test_the_counterparts_of_a_message_are_never_the_user")
    own_addresses = frozenset(f"{local}@own.example" for local in own)

    direction, others = counterparts(
        senders=parse_address_header(senders),
        recipients=parse_address_header(recipients),
        own_addresses=own_addresses,
    )

    assert direction in ("inbound", "outbound")
    own_keys = {normalise_email(a) for a in own_addresses}
    addresses = [address for _, address in others]
    assert len(addresses) == len(set(addresses))
    assert not set(addresses) & own_keys


date_headers = st.builds(
    lambda weekday, day, month, year, hour, zone: (
        f"{weekday}{day} {month} {year} {hour:02d}:00:00 {zone}"
    ),
    weekday=st.sampled_from(["", "Mon, ", "Xyz, "]),
    day=_edge_or([1, 31], -1, 99),
    month=st.sampled_from(["Jan", "Dec", "Feb", "Foo", "13"]),
    year=_edge_or([1, 99, 9999, 10000], -1, 99999),
    hour=_edge_or([0, 23], -1, 99),
    zone=st.sampled_from(
        ["+0000", "-0000", "+0100", "-0100", "+9999", "-2400", "GMT", "EST", "XYZ", ""]
    ),
)


# The first and last days of the calendar, near midnight, with an offset
# that pushes them past its end once in UTC.
calendar_end_dates = st.builds(
    lambda edge, minute, zone: f"{edge}:{minute:02d}:00 {zone}",
    st.sampled_from(["Mon, 1 Jan 0001 00", "Fri, 31 Dec 9999 23", "31 Dec 9999 23"]),
    st.integers(0, 59),
    st.sampled_from(["+0100", "-0100", "+1400", "-1200", "EST", "+0000"]),
)


@FAST
@given(st.one_of(date_headers, calendar_end_dates, any_text))
def test_a_date_header_is_an_aware_utc_time_or_none(value):
    _count("test_a_date_header_is_an_aware_utc_time_or_none")

    moment = parse_date_header(value)

    assert moment is None or moment.utcoffset() == dt.timedelta(0)


@FAST
@given(st.one_of(display_names, any_text), any_text, any_text, any_text)
def test_subjects_and_message_ids_decode_to_text_and_keys(subject, msgid, sender, date):
    _count("test_subjects_and_message_ids_decode_to_text_and_keys")

    assert isinstance(decode_header_text(subject), str)
    reference = message_reference(msgid)
    assert reference == "" or reference.startswith("email:")
    fallback = fallback_reference(sender=sender, date=date, subject=subject)
    assert re.fullmatch(r"email:hash-[0-9a-f]{32}", fallback)


# --- vCard -------------------------------------------------------------------------

vcard_values = st.one_of(
    st.text(max_size=30),
    tricky_text,
    date_like,
    mailboxes,
    st.just("=\r\n"),
    st.builds(lambda t: t + "=", st.text(alphabet="=0123456789ABCDEF", max_size=12)),
)
vcard_lines = st.one_of(
    st.builds(
        lambda group, name, params, value: f"{group}{name}{params}:{value}",
        st.sampled_from(["", "item1.", "a-b."]),
        st.sampled_from(
            [
                *("FN", "N", "EMAIL", "TEL", "ORG", "TITLE", "NOTE", "CATEGORIES"),
                *("BDAY", "PHOTO", "ADR", "AGENT", "X-FOO", "VERSION", "begin", "END"),
            ]
        ),
        st.sampled_from(
            [
                "",
                ";TYPE=work",
                ";ENCODING=QUOTED-PRINTABLE",
                ";QUOTED-PRINTABLE",
                ";CHARSET=x-bad;ENCODING=QUOTED-PRINTABLE",
                ";VALUE=text",
                ";ENCODING=b",
                ";X-APPLE-OMIT-YEAR=1604",
                ";TYPE=",
                ";;",
                ';TYPE="a,b"',
                ";CHARSET=utf-16",
            ]
        ),
        vcard_values,
    ),
    st.builds(lambda t: " " + t, st.text(max_size=20)),  # a folded continuation
    tricky_text,  # garbage
    st.just("AGENT:"),
    st.just("BEGIN:VCARD"),
)
vcard_cards = st.builds(
    lambda version, lines, end: "\n".join(
        ["BEGIN:VCARD", *version, *lines, *(["END:VCARD"] if end else [])]
    ),
    st.sampled_from([[], ["VERSION:2.1"], ["VERSION:3.0"], ["VERSION:4.0"]]),
    st.lists(vcard_lines, max_size=8),
    st.booleans(),
)


def _vcard_file(cards, eol, encoding, bom, cut, data_bytes):
    text = eol.join(cards)
    if encoding == "random":
        return data_bytes
    raw = text.encode(encoding, errors="replace")
    if bom:
        raw = {"utf-8": b"\xef\xbb\xbf", "cp1252": b"", "utf-16": b""}[encoding] + raw
    return raw[: int(len(raw) * cut)] if cut < 1 else raw


vcard_files = st.builds(
    _vcard_file,
    st.lists(vcard_cards, max_size=4),
    st.sampled_from(["\r\n", "\n", "\r"]),
    st.sampled_from(["utf-8", "cp1252", "utf-16", "random"]),
    st.booleans(),
    st.one_of(st.just(1.0), st.floats(0, 1)),
    st.binary(max_size=200),
)
VCARD_POSITION = r"line \d+|card #\d+ \(line \d+\)"


@MEDIUM
@given(vcard_files)
def test_a_vcard_file_gives_records_and_positioned_problems_never_a_crash(data):
    _count("test_a_vcard_file_gives_records_and_positioned_problems_never_a_crash")

    result = parse_vcard_data(data)

    _records_are_sound(result)
    _problems_are_positioned(result, VCARD_POSITION)
    for contact in result.contacts:
        assert re.fullmatch(r"card #\d+ \(line \d+\)", contact.position)
        assert all("@" in email for email in contact.emails)
    assert len(result.contacts) <= result.items_read


# --- Google Contacts CSV ----------------------------------------------------------

LEGACY_HEADER = [
    "Name",
    "Given Name",
    "Family Name",
    "Birthday",
    "Notes",
    "Group Membership",
    "E-mail 1 - Type",
    "E-mail 1 - Value",
    "Phone 1 - Type",
    "Phone 1 - Value",
    "Organization 1 - Name",
    "Website 1 - Value",
]
NEW_HEADER = ["First Name", "Last Name", "Birthday", "Labels", "E-mail 1 - Label"]
csv_cells = st.one_of(
    st.text(max_size=20),
    tricky_text,
    date_like,
    st.sampled_from(
        ["* Home", "* myContacts ::: * starred", "a ::: b", '"', '""', "\x00"]
    ),
)


def _csv_file(header, rows, eol, encoding, cut, random_bytes):
    if encoding == "random":
        return random_bytes
    out = io.StringIO()

    writer = csv.writer(out, lineterminator=eol)
    writer.writerow(header)
    writer.writerows(rows)
    raw = out.getvalue().encode(encoding, errors="replace")
    return raw[: int(len(raw) * cut)] if cut < 1 else raw


csv_files = st.builds(
    _csv_file,
    st.sampled_from([LEGACY_HEADER, NEW_HEADER, ["Foo", "Bar"], []]),
    st.lists(st.lists(csv_cells, max_size=14), max_size=5),
    st.sampled_from(["\r\n", "\n"]),
    st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "random"]),
    st.one_of(st.just(1.0), st.floats(0, 1)),
    st.binary(max_size=200),
)


@MEDIUM
@given(csv_files)
def test_a_google_csv_gives_records_and_positioned_problems_never_a_crash(data):
    _count("test_a_google_csv_gives_records_and_positioned_problems_never_a_crash")

    result = parse_google_csv_data(data)

    _records_are_sound(result)
    _problems_are_positioned(result, r"line \d+")


# --- LinkedIn export CSVs ---------------------------------------------------------

CONNECTIONS_HEADER = ["First Name", "Last Name", "URL", "Email Address", "Company"]
MESSAGES_HEADER = [
    "CONVERSATION ID",
    "FROM",
    "SENDER PROFILE URL",
    "TO",
    "RECIPIENT PROFILE URLS",
    "DATE",
    "CONTENT",
    "IS MESSAGE DRAFT",
]
linkedin_cells = st.one_of(
    csv_cells,
    linkedin_urls,
    _iso_moment(),
    _iso_moment().map(lambda m: m[:19].replace("T", " ") + " UTC"),
    st.sampled_from(["<p>hi</p><br>", "urn:li:member:123", "Yes", "LinkedIn Member"]),
)


@MEDIUM
@given(
    st.sampled_from([CONNECTIONS_HEADER, MESSAGES_HEADER]),
    st.lists(st.lists(linkedin_cells, min_size=3, max_size=8), max_size=6),
    st.one_of(st.just(1.0), st.floats(0, 1)),
    st.sampled_from(["utf-8", "cp1252", "random"]),
    st.binary(max_size=100),
)
def test_a_linkedin_export_gives_records_and_problems_never_a_crash(
    header, rows, cut, encoding, random_bytes
):
    _count("test_a_linkedin_export_gives_records_and_problems_never_a_crash")
    data = _csv_file(header, rows, "\n", encoding, cut, random_bytes)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(data)
        connections = parse_connections_csv(path)
        messages = parse_messages_csv(path)

    for result in (connections, messages):
        _records_are_sound(result)
        _problems_are_positioned(result, r"line \d+|file")


# --- mail: messages and mbox ---------------------------------------------------------


def _real_messages() -> list[bytes]:
    messages = []
    for path in sorted((SHARED_FIXTURES / "eml").glob("*.eml")):
        messages.append(path.read_bytes())
    for path in sorted((SHARED_FIXTURES / "mbox").glob("*.mbox")):
        messages.extend(raw for _, raw in split_mbox(path.read_bytes()))
    return messages


REAL_MESSAGES = _real_messages()


@st.composite
def mutated_messages(draw) -> bytes:
    """A real message with bytes flipped, lines dropped or doubled, or cut."""
    if not REAL_MESSAGES:
        return draw(st.binary(max_size=300))
    lines = draw(st.sampled_from(REAL_MESSAGES)).splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 4))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "double", "flip", "replace"]))
        if action == "drop":
            del lines[index]
        elif action == "double":
            lines.insert(index, lines[index])
        elif action == "flip" and lines[index]:
            line = bytearray(lines[index])
            line[draw(st.integers(0, len(line) - 1))] = draw(st.integers(0, 255))
            lines[index] = bytes(line)
        else:
            header = draw(
                st.sampled_from([b"From: ", b"To: ", b"Date: ", b"Subject: "])
            )
            value = draw(st.one_of(address_headers, date_headers, display_names))
            lines[index] = header + value.encode("utf-8", "surrogateescape") + b"\n"
    data = b"".join(lines)
    return data[: draw(st.integers(0, len(data)))]


mail_bytes = st.one_of(st.binary(max_size=300), mutated_messages())


@MEDIUM
@given(mail_bytes, st.lists(local_parts, max_size=2))
def test_a_mail_message_gives_an_interaction_or_a_problem_never_a_crash(data, own):
    _count("test_a_mail_message_gives_an_interaction_or_a_problem_never_a_crash")

    result = parse_mail_bytes(
        data, own_addresses=frozenset(f"{o}@own.example" for o in own)
    )

    _records_are_sound(result)
    _problems_are_positioned(result, r"message #1")
    assert len(result.interactions) + len(result.errors) + len(result.warnings) >= 1
    for contact in result.contacts:
        assert normalise_email(contact.emails[0])


@MEDIUM
@given(
    st.lists(st.one_of(mail_bytes, st.sampled_from([b"From -\n", b"From a@b Mon\n"])))
)
def test_split_mbox_returns_non_empty_pieces_of_the_file_in_order(parts):
    _count("test_split_mbox_returns_non_empty_pieces_of_the_file_in_order")
    data = b"\n".join(parts)

    messages = split_mbox(data)

    line_numbers = [number for number, _ in messages]
    assert line_numbers == sorted(line_numbers)
    assert all(number >= 1 for number in line_numbers)
    for _, raw in messages:
        assert raw.strip()
        assert raw in data


# --- X archive -------------------------------------------------------------------------

user_ids = st.sampled_from(["11", "22", "33", "44"])
ids = st.one_of(
    st.integers(0, 10**18).map(str),
    st.integers(0, 10**6),
    st.sampled_from(["", "abc", "²", "١٢", None, "12-34", "1-2-3"]),
)
moments = st.one_of(_iso_moment(), st.sampled_from(["", "yesterday", None, 0]))
# What a damaged archive has where a value should be: mostly a value of
# the wrong type, sometimes anything.
WRONG_TYPES = [0, 5, -1, 1.5, "", "x", "²", None, True, [], [5], ["²"], {}, {"a": 1}]
messy = st.one_of(
    st.sampled_from(WRONG_TYPES),
    st.sampled_from(["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"]),
    json_values,
    ids,
)


@st.composite
def valid_conversations(draw) -> dict:
    """A well-formed one-to-one or group conversation of users 11..44."""
    # The owner, 11, is in every conversation, as in a real archive.
    others = draw(
        st.lists(
            user_ids.filter(lambda u: u != "11"), min_size=1, max_size=3, unique=True
        )
    )
    members = ["11", *others]
    group = draw(st.booleans())
    entries = []
    if group:
        entries.append(
            {
                "joinConversation": {
                    "initiatingUserId": members[0],
                    "participantsSnapshot": members,
                    "createdAt": "2020-01-01T00:00:00.000Z",
                }
            }
        )
    for number in range(draw(st.integers(0, 4))):
        sender = draw(st.sampled_from(members[:2] if not group else members))
        event = {
            "id": str(1000 + number),
            "senderId": sender,
            "createdAt": draw(_iso_moment()),
            "text": draw(st.text(max_size=20)),
        }
        if not group:
            event["recipientId"] = members[1] if sender == members[0] else members[0]
        kind = draw(st.sampled_from(["messageCreate"] * 3 + ["participantsLeave"]))
        if kind == "participantsLeave":
            event = {"userIds": [sender], "createdAt": event["createdAt"]}
        entries.append({kind: event})
    conversation_id = (
        draw(st.integers(1, 10**6).map(str)) if group else f"{members[0]}-{members[1]}"
    )
    return {"dmConversation": {"conversationId": conversation_id, "messages": entries}}


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _replaced(value, path, new):
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replaced(copy[head], rest, new)
    return copy


@st.composite
def mutated(draw, base: st.SearchStrategy, replacements: st.SearchStrategy):
    """``base`` with up to four values (any depth) swapped for ``replacements``."""
    value = draw(base)
    for _ in range(draw(st.integers(0, 4))):
        # The root only rarely: a whole record replaced says little.
        path = draw(st.sampled_from(list(_paths(value))[1:] or [()]))
        value = _replaced(value, path, draw(replacements))
    return value


conversations = st.one_of(valid_conversations(), mutated(valid_conversations(), messy))
accounts = mutated(
    st.builds(lambda owner: [{"account": {"accountId": owner}}], user_ids), messy
)


def _ytd(name: str, payload) -> str:
    return f"window.YTD.{name}.part0 = {json.dumps(payload)}"


@st.composite
def twitter_archives(draw) -> dict[str, bytes]:
    """Files of an archive: name -> content, some of them broken."""
    files: dict[str, bytes] = {}
    for name in draw(
        st.lists(
            st.sampled_from(
                [
                    "direct-messages.js",
                    "direct-messages-group.js",
                    "direct-messages-part1.js",
                ]
            ),
            min_size=1,
            max_size=2,
            unique=True,
        )
    ):
        text = _ytd("direct_messages", draw(st.lists(conversations, max_size=3)))
        files[name] = text.encode()
    if draw(st.booleans()):
        files["account.js"] = _ytd("account", draw(accounts)).encode()
    for name in list(files):
        damage = draw(st.sampled_from(["none"] * 7 + ["cut", "bytes", "latin1"]))
        if damage == "cut":
            files[name] = files[name][: draw(st.integers(0, len(files[name])))]
        elif damage == "bytes":
            files[name] = draw(st.binary(max_size=100))
        elif damage == "latin1":
            files[name] = files[name].replace(b'"', b'"\xe9', 1)
    return files


@FAST
@given(twitter_archives(), st.sampled_from(["folder", "zip", "cut-zip", "single"]))
def test_an_x_archive_gives_interactions_and_problems_never_a_crash(files, form):
    _count("test_an_x_archive_gives_interactions_and_problems_never_a_crash")

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if form == "folder":
            (root / "data").mkdir()
            for name, content in files.items():
                (root / "data" / name).write_bytes(content)
            target = root
        elif form in ("zip", "cut-zip"):
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, content in files.items():
                    archive.writestr(f"data/{name}", content)
            raw = buffer.getvalue()
            target = root / "archive.zip"
            target.write_bytes(raw[: len(raw) * 2 // 3] if form == "cut-zip" else raw)
        else:
            for name, content in files.items():
                (root / name).write_bytes(content)
            target = root / next(iter(files))
        result = parse_twitter_archive(target)

    _records_are_sound(result)
    for interaction in result.interactions:
        assert interaction.reference_id.startswith("twitter_dm:")
        assert interaction.participants[0].twitter_user_id


# --- real fixture files, cut and corrupted ------------------------------------------

FIXTURE_KINDS = {
    "vcard": "*.vcf",
    "google-contacts-csv": "*.csv",
    "linkedin-connections-csv": "*.csv",
    "linkedin-messages-csv": "*.csv",
    "mbox": "*.mbox",
    "eml": "*.eml",
    "twitter-archive": "*/*.js",
}


# kind -> (the records a cut keeps intact, whether the last may be cut).
CUT_KEEPS = {
    "vcard": ("contacts", False),
    "google-contacts-csv": ("contacts", True),
    "linkedin-connections-csv": ("contacts", True),
    "mbox": ("interactions", True),
}


def _parse_fixture(kind: str, path: Path, data: bytes) -> ParseResult:
    """Parse ``data`` as the file ``path`` of ``kind`` would be parsed."""
    if kind == "vcard":
        return parse_vcard_data(data)
    if kind == "google-contacts-csv":
        return parse_google_csv_data(data)
    if kind == "eml":
        return parse_mail_bytes(data, own_addresses=frozenset())
    with tempfile.TemporaryDirectory() as folder:
        if kind == "twitter-archive":
            # The cut file sits beside its archive's other, intact files.
            for sibling in path.parent.iterdir():
                (Path(folder) / sibling.name).write_bytes(sibling.read_bytes())
            (Path(folder) / path.name).write_bytes(data)
            return parse_twitter_archive(folder)
        target = Path(folder) / path.name
        target.write_bytes(data)
        if kind == "mbox":
            return parse_mbox(target, own_addresses=frozenset())
        if kind == "linkedin-connections-csv":
            return parse_connections_csv(target)
        return parse_messages_csv(target)


def _damaged(draw, data: bytes) -> tuple[bytes, bool]:
    """Return ``data`` cut at a random offset, maybe with bytes overwritten."""
    cut = draw(st.integers(0, len(data)))
    damaged = bytearray(data[:cut])
    flips = draw(st.integers(0, 3)) if damaged else 0
    for _ in range(flips):
        damaged[draw(st.integers(0, len(damaged) - 1))] = draw(st.integers(0, 255))
    return bytes(damaged), flips == 0


@pytest.mark.fixtures
@pytest.mark.parametrize("kind", FIXTURE_KINDS)
@settings(SLOW, max_examples=60)
@given(data=st.data())
def test_a_cut_or_corrupted_real_file_keeps_its_good_records_and_never_crashes(
    kind, data
):
    folder = shared_fixture(kind)
    _count(
        f"test_a_cut_or_corrupted_real_file_keeps_its_good_records_and_never_crashes[{kind}]"
    )
    files = sorted(folder.glob(FIXTURE_KINDS[kind]))
    if kind == "vcard":
        # The 1000-card file is for load; its cuts say nothing the others don't.
        files = [f for f in files if f.stat().st_size < 20000]
    path = data.draw(st.sampled_from(files), label="file")
    original = path.read_bytes()
    damaged, only_cut = _damaged(data.draw, original)

    result = _parse_fixture(kind, path, damaged)

    _records_are_sound(result)
    if only_cut and kind in CUT_KEEPS:
        # What a cut file still yields is what the whole file yields for
        # the same records, except (for formats without an end marker) the
        # last record, which may have lost its tail.
        whole = _parse_fixture(kind, path, original)
        records, last_may_differ = CUT_KEEPS[kind]
        full = set(getattr(whole, records))
        kept = getattr(result, records)
        for record in kept[:-1] if last_may_differ else kept:
            assert record in full, record


UPLOAD_ROUTES = {
    "vcard": "vcard",
    "google-contacts-csv": "csv",
    "linkedin-connections-csv": "linkedin",
    "linkedin-messages-csv": "linkedin-messages",
    "mbox": "mbox",
    "eml": "mbox",
    "twitter-archive": "twitter-archive",
}


@pytest.mark.fixtures
@pytest.mark.django_db
@pytest.mark.parametrize("kind", FIXTURE_KINDS)
@settings(
    SLOW,
    max_examples=15,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data())
def test_uploading_a_cut_or_corrupted_real_file_reports_problems_never_a_500(
    alice, kind, data
):
    folder = shared_fixture(kind)
    _count(
        "test_uploading_a_cut_or_corrupted_real_file_reports_problems_never_a_500"
        f"[{kind}]"
    )
    files = [
        f for f in sorted(folder.glob(FIXTURE_KINDS[kind])) if f.stat().st_size < 20000
    ]
    path = data.draw(st.sampled_from(files), label="file")
    damaged, _ = _damaged(data.draw, path.read_bytes())
    client = APIClient()
    client.force_authenticate(alice)

    response = client.post(
        f"/api/v1/contacts/import/{UPLOAD_ROUTES[kind]}",
        {"file": SimpleUploadedFile(path.name, damaged)},
        format="multipart",
    )

    assert response.status_code in (200, 400), response.content
    body = response.json()
    if response.status_code == 200:
        report = body["data"]
        assert report["problems_total"] >= len(report["problems"])
        for problem in report["problems"]:
            assert problem["position"] and problem["reason"]
    else:
        assert body["error"]["message"]


# --- provider responses at the calendar's ends -----------------------------------


@pytest.mark.parametrize(
    "start",
    [
        {"dateTime": "9999-12-31T23:00:00-05:00"},
        {"dateTime": "0001-01-01T00:30:00+01:00"},
        {"dateTime": "not a time"},
    ],
)
def test_a_calendar_event_starting_off_the_calendar_is_a_problem_not_a_crash(start):
    result = ParseResult()

    record = _interaction(
        {"id": "ev1", "start": start, "attendees": []},
        own_emails={"me@example.com"},
        own_names=set(),
        now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        contacts={},
        result=result,
    )

    assert record is None
    assert [p.position for p in result.errors] == ["event ev1"]
    assert result.errors[0].reason.startswith("unreadable start: ")


def test_an_x_id_in_other_digits_is_not_a_number():
    assert [_as_int(v) for v in ("123", "²", "١٢", "", None, 7)] == [
        123,
        None,
        None,
        None,
        None,
        7,
    ]
