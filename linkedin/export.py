"""Read the CSV files of a LinkedIn data export into plain records.

``Connections.csv`` becomes ContactRecords and ``messages.csv`` becomes
InteractionRecords (plus a ContactRecord per person written with). Both
formats have changed over the years, so columns are found by their header
names and the header row by its content. Nothing here touches the ORM.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path

from linkedin.profile_urls import (
    CANONICAL_PREFIX,
    normalise_profile_url,
    profile_id_from_url,
)
from syncjobs.records import (
    INBOUND,
    OUTBOUND,
    ContactRecord,
    InteractionRecord,
    ParseResult,
    Participant,
    RecordProblem,
)

logger = logging.getLogger(__name__)

SOURCE = "linkedin"
PLATFORM = "linkedin"
PREVIEW_LENGTH = 500

# The sender LinkedIn writes for sponsored InMail; such rows carry no URL.
SPONSORED_SENDER = "LinkedIn Member"

_CONNECTION_HEADER = ("first name", "last name")
_MESSAGE_HEADER = ("conversation id", "from", "to", "date")

_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+")
_MEMBER_URN = re.compile(r"urn:li:member:\d+", re.IGNORECASE)
_NO_COMPANY = frozenset({"-", "–", "—"})
_YES = frozenset({"yes", "true", "1"})

# Only content that contains one of the tags LinkedIn's editors emit is
# treated as HTML, so a plain message such as "a <b and c> d" stays intact.
_HTML_TAG = re.compile(
    r"</?(?:p|br|div|span|ul|ol|li|strong|em|b|i|u|a)\b[^>]*>", re.IGNORECASE
)
_BLOCK_TAGS = frozenset({"p", "br", "div", "li", "ul", "ol", "tr", "td", "h1", "h2"})

# Emoji modifiers and joiners that trail a decorative emoji in a name.
_DECORATION_MARKS = frozenset("\u200d\ufe0e\ufe0f\u20e3")


def parse_connections_csv(path: str | os.PathLike[str]) -> ParseResult:
    """Return one ContactRecord per row of a LinkedIn ``Connections.csv``.

    Both known layouts are read: the 2024 one, with a ``Notes:`` preamble
    and a URL column, and the 2018 one, with neither. Rows without a name
    and without a profile URL are reported as errors.
    """
    result = ParseResult()
    rows = _csv_rows(Path(path), result)
    columns = _find_header(rows, _CONNECTION_HEADER)
    if columns is None:
        result.errors.append(
            RecordProblem("line 1", "no Connections.csv header row was found")
        )
        return result

    for line, cells in rows:
        if _is_blank(cells):
            continue
        result.items_read += 1
        record = _connection_record(line, cells, columns, result)
        if record is not None:
            result.contacts.append(record)

    logger.debug(
        "Read %d connections, %d errors",
        len(result.contacts),
        len(result.errors),
    )
    return result


def parse_messages_csv(
    path: str | os.PathLike[str],
    *,
    own_profile_urls: frozenset[str] = frozenset(),
    own_name: str = "",
) -> ParseResult:
    """Return one InteractionRecord per message of a LinkedIn ``messages.csv``.

    Steps:
    1. Read every row; the 10-column (2023) and 12-column (2025, with
       ATTACHMENTS and IS MESSAGE DRAFT) layouts are both read by name.
    2. Decide which profile is the user's: ``own_profile_urls`` when given,
       else the profiles whose display name is ``own_name``, else the
       profile that takes part in the most messages (see ``_guess_user``).
    3. A message from the user is outbound, with one record per recipient;
       any other message is inbound, with the sender as the one participant.
       Group messages (several recipient URLs) append the counterpart's
       slug to the ``linkedin:{conversation}:{date}`` key so that each
       record has its own key.
    4. Skip, as errors, system rows with no sender or recipient, drafts,
       sponsored and other senders without a profile URL, and bad dates.

    A ContactRecord is returned for every counterpart of a kept message.
    """
    result = ParseResult()
    rows = _csv_rows(Path(path), result)
    columns = _find_header(rows, _MESSAGE_HEADER)
    if columns is None:
        result.errors.append(
            RecordProblem("line 1", "no messages.csv header row was found")
        )
        return result

    messages = []
    for line, cells in rows:
        if _is_blank(cells):
            continue
        result.items_read += 1
        messages.append(_message_row(line, cells, columns))

    user = _identify_user(
        messages, own_profile_urls=own_profile_urls, own_name=own_name, result=result
    )
    counterparts: dict[str, ContactRecord] = {}
    seen_keys: dict[str, str] = {}
    for message in messages:
        for record in _message_interactions(message, user, result):
            _note_duplicate_key(record, seen_keys, result)
            result.interactions.append(record)
            for participant in record.participants:
                _add_counterpart(counterparts, participant, record.position)

    result.contacts.extend(counterparts.values())
    logger.debug(
        "Read %d LinkedIn messages into %d interactions, %d errors",
        result.items_read,
        len(result.interactions),
        len(result.errors),
    )
    return result


def clean_name(value: str) -> str:
    """Return a display name with whitespace collapsed and decorations cut.

    Emoji and flags at either end of a name part ("Lund🔸", "Brandt🇺🇦",
    "Leon 🔸") are removed: people add them to their LinkedIn names as
    branding, and they would make every name in the CRM differ from the
    same person's name in e-mail or in the address book. Emoji inside a
    name are kept.
    """
    text = " ".join(value.split())
    start, end = 0, len(text)
    while start < end and _is_decoration(text[start]):
        start += 1
    while end > start and _is_decoration(text[end - 1]):
        end -= 1
    return text[start:end].strip()


def _is_decoration(char: str) -> bool:
    if char.isspace() or char in _DECORATION_MARKS:
        return True
    if "\U0001f3fb" <= char <= "\U0001f3ff":
        return True  # skin-tone modifiers
    # "Cn" covers emoji newer than this Python's Unicode tables.
    return unicodedata.category(char) in ("So", "Cn")


@dataclass(frozen=True)
class _Message:
    line: int
    conversation_id: str
    sender_name: str
    sender_raw_url: str
    sender_url: str
    recipients: tuple[tuple[str, str], ...]
    recipient_raw_urls: str
    to_text: str
    date_text: str
    content: str
    is_draft: bool

    @property
    def position(self) -> str:
        return f"line {self.line}"

    @property
    def is_system(self) -> bool:
        return not (
            self.sender_name
            or self.sender_raw_url
            or self.to_text
            or self.recipient_raw_urls
        )

    @property
    def profile_urls(self) -> set[str]:
        urls = {url for _, url in self.recipients if url}
        if self.sender_url:
            urls.add(self.sender_url)
        return urls


def _csv_rows(path: Path, result: ParseResult) -> Iterator[tuple[int, list[str]]]:
    """Yield (first physical line, cells) for every CSV record in the file.

    The line number is the record's first line, so a row whose quoted cell
    spans several lines is named by the line it starts on.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # LinkedIn writes UTF-8; a file re-saved by a spreadsheet program on
        # Windows is the usual exception.
        text = raw.decode("cp1252", errors="replace")
        result.warnings.append(
            RecordProblem("file", "file is not UTF-8; read it as Windows-1252")
        )

    reader = csv.reader(io.StringIO(text, newline=""))
    next_line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            result.errors.append(
                RecordProblem(f"line {next_line}", f"unreadable CSV ({exc})")
            )
            return
        yield next_line, cells
        next_line = reader.line_num + 1


def _find_header(
    rows: Iterator[tuple[int, list[str]]],
    required: Iterable[str],
) -> dict[str, int] | None:
    """Consume rows up to the header row and return its column positions.

    The header is the first row that has every ``required`` name as a cell,
    so a preamble of any length before it (the 2024 ``Notes:`` block) is
    skipped.
    """
    needed = set(required)
    for _, cells in rows:
        names = [_header_name(cell) for cell in cells]
        if needed.issubset(names):
            columns: dict[str, int] = {}
            for index, name in enumerate(names):
                columns.setdefault(name, index)
            return columns
    return None


def _header_name(cell: str) -> str:
    return " ".join(cell.replace("\ufeff", "").split()).casefold()


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _cell(cells: list[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(cells):
        return ""
    return cells[index]


def _connection_record(
    line: int, cells: list[str], columns: dict[str, int], result: ParseResult
) -> ContactRecord | None:
    position = f"line {line}"
    given = clean_name(_cell(cells, columns, "first name"))
    family = clean_name(_cell(cells, columns, "last name"))
    full_name = " ".join(part for part in (given, family) if part)

    raw_url = _cell(cells, columns, "url").strip()
    url = normalise_profile_url(raw_url)
    if not full_name and not url:
        result.errors.append(RecordProblem(position, "no name and no profile URL"))
        return None
    if raw_url and not url:
        result.warnings.append(
            RecordProblem(
                position,
                f"URL {raw_url!r} is not a LinkedIn person profile; "
                "kept the contact without it",
            )
        )

    emails = _connection_emails(
        _cell(cells, columns, "email address"), position, result
    )
    company = " ".join(_cell(cells, columns, "company").split())
    slug = profile_id_from_url(url)
    return ContactRecord(
        source=SOURCE,
        position=position,
        external_id=slug,
        full_name=full_name,
        given_name=given,
        family_name=family,
        emails=emails,
        company="" if company in _NO_COMPANY else company,
        title=" ".join(_cell(cells, columns, "position").split()),
        linkedin_url=url,
        linkedin_profile_id=slug,
    )


def _connection_emails(
    value: str, position: str, result: ParseResult
) -> tuple[str, ...]:
    text = value.strip()
    if not text:
        return ()
    if _EMAIL.fullmatch(text):
        return (text,)
    if _MEMBER_URN.fullmatch(text):
        # 2018 exports put the member URN here when the address is hidden.
        # It is dropped, not kept as an id: nothing else we read (the push,
        # profile URLs, messages.csv) names members by this number, so it
        # could never match, and storing it as linkedin_profile_id would
        # stop a later push from filling in the real slug.
        result.warnings.append(
            RecordProblem(
                position,
                f"Email Address holds a LinkedIn member id ({text}), "
                "not an address; dropped it",
            )
        )
        return ()
    result.warnings.append(
        RecordProblem(position, f"Email Address {text!r} is not an address; dropped it")
    )
    return ()


def _message_row(line: int, cells: list[str], columns: dict[str, int]) -> _Message:
    sender_raw_url = _cell(cells, columns, "sender profile url").strip()
    to_text = _cell(cells, columns, "to").strip()
    recipient_raw_urls = _cell(cells, columns, "recipient profile urls").strip()
    return _Message(
        line=line,
        conversation_id=_cell(cells, columns, "conversation id").strip(),
        sender_name=clean_name(_cell(cells, columns, "from")),
        sender_raw_url=sender_raw_url,
        sender_url=normalise_profile_url(sender_raw_url),
        recipients=_recipients(to_text, recipient_raw_urls),
        recipient_raw_urls=recipient_raw_urls,
        to_text=to_text,
        date_text=_cell(cells, columns, "date"),
        content=_cell(cells, columns, "content"),
        is_draft=_cell(cells, columns, "is message draft").strip().casefold() in _YES,
    )


def _recipients(to_text: str, urls_text: str) -> tuple[tuple[str, str], ...]:
    """Pair the names in TO with the URLs in RECIPIENT PROFILE URLS.

    Group messages list both comma-separated, in the same order. When the
    counts differ (a display name with a comma in it) the names cannot be
    paired safely and are left empty; the URLs, which are the keys, stay.
    """
    raw_urls = [url.strip() for url in urls_text.split(",") if url.strip()]
    if not raw_urls:
        return ()
    if len(raw_urls) == 1:
        names = [to_text]
    else:
        names = to_text.split(",")
        if len(names) != len(raw_urls):
            names = [""] * len(raw_urls)
    return tuple(
        (clean_name(name), normalise_profile_url(url))
        for name, url in zip(names, raw_urls, strict=True)
    )


def _identify_user(
    messages: list[_Message],
    *,
    own_profile_urls: frozenset[str],
    own_name: str,
    result: ParseResult,
) -> frozenset[str]:
    given = frozenset(
        filter(None, (normalise_profile_url(u) for u in own_profile_urls))
    )
    if given:
        return given
    if own_profile_urls:
        result.warnings.append(
            RecordProblem(
                "file",
                "none of your own profile URLs is a LinkedIn profile; guessed it",
            )
        )

    usable = [m for m in messages if not m.is_system and not m.is_draft]
    if own_name:
        wanted = clean_name(own_name).casefold()
        named = frozenset(
            url
            for message in usable
            for name, url in (
                (message.sender_name, message.sender_url),
                *message.recipients,
            )
            if url and name.casefold() == wanted
        )
        if named:
            return named
        result.warnings.append(
            RecordProblem(
                "file", f"no profile in the file is named {own_name!r}; guessed it"
            )
        )
    return _guess_user(usable, result)


def _guess_user(messages: list[_Message], result: ParseResult) -> frozenset[str]:
    """Return the profile that takes part in the most messages.

    Every message in a user's own export is from or to the user, so the
    user's profile is in all of them. Counting only senders is not enough:
    in a group chat someone else can send most of the messages (the owner
    of one real 2025 export sent 1 of its 17). Ties (an export with one
    conversation) go to the profile that sent more, then to the one seen
    first, with a warning.
    """
    taking_part: Counter[str] = Counter()
    sent: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for message in messages:
        for url in sorted(message.profile_urls):
            taking_part[url] += 1
            first_seen.setdefault(url, message.line)
        if message.sender_url:
            sent[message.sender_url] += 1
    if not taking_part:
        return frozenset()

    most = max(taking_part.values())
    candidates = sorted(
        (url for url, count in taking_part.items() if count == most),
        key=lambda url: (-sent[url], first_seen[url]),
    )
    if len(candidates) > 1:
        result.warnings.append(
            RecordProblem(
                "file",
                f"could not tell which of {len(candidates)} profiles is yours; "
                f"took {candidates[0]}, who sent the most messages",
            )
        )
    return frozenset({candidates[0]})


def _message_interactions(
    message: _Message, user: frozenset[str], result: ParseResult
) -> list[InteractionRecord]:
    position = message.position
    problem = _skip_reason(message, user)
    if problem:
        result.errors.append(RecordProblem(position, problem))
        return []
    occurred_at = _parse_date(message.date_text)
    if occurred_at is None:
        result.errors.append(
            RecordProblem(
                position,
                f"DATE {message.date_text!r} is not a date like "
                "'2023-05-01 10:12:13 UTC'",
            )
        )
        return []

    if message.sender_url in user:
        direction = OUTBOUND
        counterparts = [
            (name, url) for name, url in message.recipients if url and url not in user
        ]
    else:
        direction = INBOUND
        # In a group chat the other recipients only read along; the message
        # is an exchange with its sender, so only the sender is counted.
        counterparts = [(message.sender_name, message.sender_url)]

    is_group = len(message.recipients) > 1
    key = f"linkedin:{message.conversation_id}:{message.date_text}"
    preview = _preview(message.content)
    records = []
    for name, url in counterparts:
        slug = profile_id_from_url(url)
        records.append(
            InteractionRecord(
                platform=PLATFORM,
                direction=direction,
                occurred_at=occurred_at,
                reference_id=f"{key}:{slug}" if is_group else key,
                position=position,
                participants=(Participant(linkedin_profile_id=slug, name=name),),
                content_preview=preview,
                per_contact=False,
            )
        )
    return records


def _skip_reason(message: _Message, user: frozenset[str]) -> str:
    """Return why a message yields no interaction, or "" if it does."""
    if message.is_system:
        return f"system message with no sender or recipient: {message.content[:80]!r}"
    if message.is_draft:
        return "draft that was never sent"
    if not message.sender_url:
        if message.sender_raw_url:
            return (
                f"sender profile URL {message.sender_raw_url!r} "
                "is not a LinkedIn person profile"
            )
        if message.sender_name == SPONSORED_SENDER:
            return f"sponsored message from {SPONSORED_SENDER!r} with no profile URL"
        return (
            f"sender {message.sender_name!r} has no profile URL "
            "(InMail or company message), so it names no person"
        )
    recipient_urls = {url for _, url in message.recipients if url}
    if message.sender_url in user:
        if not recipient_urls - user:
            return "no recipient other than you has a LinkedIn profile URL"
        return ""
    if not recipient_urls & user:
        return "neither the sender nor any recipient is you"
    return ""


def _parse_date(value: str) -> dt.datetime | None:
    text = value.strip()
    if text.upper().endswith(" UTC"):
        text = text[:-4].strip()
        try:
            return dt.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=dt.UTC
            )
        except ValueError:
            return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    # A time without a zone cannot be placed on the timeline; LinkedIn
    # always writes UTC, so a missing zone means the value is not theirs.
    if parsed.tzinfo is None:
        return None
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        # Year 9999 (or 1) pushed past the calendar's end by the offset.
        return None


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")


def _preview(content: str) -> str:
    """Return the message text without HTML, whitespace collapsed, cut to 500."""
    text = content
    if _HTML_TAG.search(text):
        extractor = _TextExtractor()
        extractor.feed(text)
        extractor.close()
        text = "".join(extractor.parts)
    return " ".join(text.split())[:PREVIEW_LENGTH]


def _note_duplicate_key(
    record: InteractionRecord, seen: dict[str, str], result: ParseResult
) -> None:
    # The original key has only second precision: two messages in one
    # conversation in the same second share it, and the importer keeps one.
    first = seen.setdefault(record.reference_id, record.position)
    if first != record.position:
        result.warnings.append(
            RecordProblem(
                record.position,
                f"same conversation and time as {first}; only one of them is kept",
            )
        )


def _add_counterpart(
    counterparts: dict[str, ContactRecord], participant: Participant, position: str
) -> None:
    slug = participant.linkedin_profile_id
    known = counterparts.get(slug)
    if known is None:
        counterparts[slug] = ContactRecord(
            source=SOURCE,
            position=position,
            external_id=slug,
            full_name=participant.name,
            linkedin_url=CANONICAL_PREFIX + slug,
            linkedin_profile_id=slug,
        )
    elif not known.full_name and participant.name:
        # A group row whose names could not be paired left it unnamed.
        counterparts[slug] = replace(known, full_name=participant.name)
