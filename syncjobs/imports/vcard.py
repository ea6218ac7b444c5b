"""Read vCard files (2.1, 3.0, 4.0) into contact records.

Each ``BEGIN:VCARD`` .. ``END:VCARD`` block is cut out of the file here and
parsed on its own with vobject, so one broken card becomes one
``RecordProblem`` and the cards after it are still read.
"""

from __future__ import annotations

import logging
import quopri
import re
from dataclasses import dataclass, field
from pathlib import Path

import vobject
from vobject.base import ParseError

from contacts.birthdays import Birthday, BirthdayError, parse_birthday
from syncjobs.records import ContactRecord, ParseResult, RecordProblem

logger = logging.getLogger(__name__)

SOURCE = "vcard"

# The properties a ContactRecord is built from. Every other property (PHOTO,
# ADR, LABEL, X-MS-CARDPICTURE, ...) is dropped before vobject sees the card:
# vobject decodes every property it is given, and a truncated base64 photo
# or an Outlook ADR with an empty parameter would otherwise cost the whole
# contact. A line that is not a property at all is kept, so vobject still
# rejects a card that contains garbage.
_KEPT_PROPERTIES = frozenset(
    {
        "BEGIN",
        "END",
        "VERSION",
        "FN",
        "N",
        "EMAIL",
        "TEL",
        "ORG",
        "TITLE",
        "NOTE",
        "CATEGORIES",
        "BDAY",
    }
)

_PROPERTY = re.compile(
    r"^(?:(?P<group>[A-Za-z0-9_-]+)\.)?(?P<name>[A-Za-z0-9_-]+)"
    r"(?P<params>;[^:]*)?:(?P<value>.*)$",
    re.DOTALL,
)
_AGENT = re.compile(rb"^\s*(?:[A-Za-z0-9_-]+\.)?AGENT[;:]", re.IGNORECASE)
_FAILED_LINE = "Failed to parse line: "
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass
class _RawCard:
    number: int
    first_line: int
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    closed: bool = False

    @property
    def position(self) -> str:
        return f"card #{self.number} (line {self.first_line})"


def parse_vcards(path: str | Path) -> ParseResult:
    """Return the contacts of the vCard file at ``path``."""
    return parse_vcard_data(Path(path).read_bytes())


def parse_vcard_data(data: bytes | str) -> ParseResult:
    """Return the contacts of a vCard file's content.

    1. Cut the file into cards by their BEGIN/END lines, keeping line numbers.
    2. Decode each card on its own (UTF-8, else Windows-1252), unfold it,
       join quoted-printable soft breaks and decode quoted-printable values.
    3. Parse the card with vobject and map it to a ContactRecord.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    if data.startswith(_UTF16_BOMS):
        # errors="replace": a file cut at an odd byte or with a lone
        # surrogate still yields its whole cards; the broken one is reported.
        data = data.decode("utf-16", errors="replace").encode("utf-8")
    data = data.removeprefix(b"\xef\xbb\xbf")

    result = ParseResult()
    cards, stray = _split_cards(data)
    if not cards and stray:
        result.errors.append(
            RecordProblem("line 1", "no BEGIN:VCARD found; this is not a vCard file")
        )
        return result
    result.warnings.extend(stray)
    for card in cards:
        result.items_read += 1
        _read_card(card, result)
    return result


def _split_cards(data: bytes) -> tuple[list[_RawCard], list[RecordProblem]]:
    """Return the cards of the file and a warning for each run of stray text."""
    cards: list[_RawCard] = []
    stray: list[RecordProblem] = []
    current: _RawCard | None = None
    nested = 0
    previous = b""
    in_stray_run = False

    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.rstrip(b"\r")
        marker = line.strip().upper()
        if current is None:
            if marker == b"BEGIN:VCARD":
                current = _RawCard(number=len(cards) + 1, first_line=number)
                current.lines.append((number, line))
                cards.append(current)
                in_stray_run = False
            elif marker and not in_stray_run:
                stray.append(
                    RecordProblem(f"line {number}", "text outside a vCard ignored")
                )
                in_stray_run = True
            elif not marker:
                in_stray_run = False
            continue

        if marker == b"BEGIN:VCARD":
            if _AGENT.match(previous):
                # A vCard 2.1 AGENT embeds another person's card; that person
                # is not one of the user's contacts, so the block is skipped.
                nested += 1
            else:
                # No END:VCARD before the next card: close this one as broken
                # and start the next, rather than swallowing it.
                current = _RawCard(number=len(cards) + 1, first_line=number)
                current.lines.append((number, line))
                cards.append(current)
                nested = 0
        elif nested:
            if marker == b"END:VCARD":
                nested -= 1
        else:
            current.lines.append((number, line))
            if marker == b"END:VCARD":
                current.closed = True
                current = None
        if marker:
            previous = line
    return cards, stray


def _read_card(card: _RawCard, result: ParseResult) -> None:
    if not card.closed:
        result.errors.append(
            RecordProblem(card.position, "the card has no END:VCARD line")
        )
        return

    warnings: list[str] = []
    lines = _decode_card(card, warnings)
    logical = _logical_lines(lines)
    emitted = [_clean_line(number, text, warnings) for number, text in logical]
    emitted = [(number, text) for number, text in emitted if text is not None]

    try:
        component = next(vobject.readComponents("\n".join(t for _, t in emitted)))
    except ParseError as exc:
        result.errors.append(RecordProblem(card.position, _parse_error(exc, emitted)))
        return
    except Exception as exc:
        logger.exception("vobject could not read %s", card.position)
        result.errors.append(
            RecordProblem(card.position, f"the card cannot be read: {exc}")
        )
        return

    record = _to_record(component, card.position, warnings)
    result.warnings.extend(RecordProblem(card.position, w) for w in warnings)
    if record is None:
        result.errors.append(
            RecordProblem(card.position, "the card has no name, email or phone")
        )
        return
    result.contacts.append(record)


def _decode_card(card: _RawCard, warnings: list[str]) -> list[tuple[int, str]]:
    """Return the card's lines as text, reading them as UTF-8 or Windows-1252."""
    raw = b"\n".join(line for _, line in card.lines)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # Outlook writes vCard 2.1 in the Windows code page with no CHARSET
        # parameter. cp1252 leaves five bytes undefined; those are replaced.
        text = raw.decode("cp1252", errors="replace")
        warnings.append("the card is not UTF-8; read it as Windows-1252")
    numbers = [number for number, _ in card.lines]
    return list(zip(numbers, text.split("\n"), strict=True))


def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Unfold the card's lines and join quoted-printable soft line breaks.

    vobject's default reader treats the line after a soft break (``=`` at the
    end of a quoted-printable value, common in Android's vCard 2.1) as a new
    property and fails the card (known bug B10), so the breaks are joined
    here, before vobject reads the card.
    """
    logical: list[tuple[int, str]] = []
    soft_break = False
    for number, line in lines:
        if soft_break:
            start, text = logical[-1]
            logical[-1] = (start, text.rstrip()[:-1] + line)
        elif line[:1] in (" ", "\t") and logical:
            start, text = logical[-1]
            logical[-1] = (start, text + line[1:])
        elif not line.strip():
            continue
        else:
            logical.append((number, line))
        text = logical[-1][1] if logical else ""
        head = text.split(":", 1)[0].upper()
        soft_break = "QUOTED-PRINTABLE" in head and text.rstrip().endswith("=")
    return logical


def _clean_line(number: int, line: str, warnings: list[str]) -> tuple[int, str | None]:
    """Return the line as vobject should see it, or None to drop it."""
    match = _PROPERTY.match(line)
    if match is None:
        return number, line
    name = match["name"].upper()
    if name not in _KEPT_PROPERTIES:
        return number, None

    params = [p for p in (match["params"] or "").split(";") if p.strip()]
    quoted_printable = any(
        p.upper() in ("QUOTED-PRINTABLE", "ENCODING=QUOTED-PRINTABLE") for p in params
    )
    if not quoted_printable:
        if (
            match["params"]
            and '"' not in match["params"]
            and (len(params) != match["params"].count(";"))
        ):
            # Outlook writes an empty parameter (``ADR;HOME;PREF;:``), which
            # vobject rejects.
            return number, _join_line(
                match["group"], match["name"], params, match["value"]
            )
        return number, line

    charset = ""
    kept: list[str] = []
    for param in params:
        key, _, value = param.partition("=")
        if key.upper() == "CHARSET":
            charset = value.strip().strip('"')
        elif param.upper() not in ("QUOTED-PRINTABLE", "ENCODING=QUOTED-PRINTABLE"):
            kept.append(param)
    value = _decode_quoted_printable(match["value"], charset, name, warnings)
    # A decoded line break would end the property early; the text escape
    # keeps it inside the value.
    value = value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    return number, _join_line(match["group"], match["name"], kept, value)


def _join_line(group: str | None, name: str, params: list[str], value: str) -> str:
    prefix = f"{group}." if group else ""
    return prefix + ";".join([name, *params]) + ":" + value


def _decode_quoted_printable(
    value: str, charset: str, name: str, warnings: list[str]
) -> str:
    # vobject decodes quoted-printable strictly and fails the whole card on
    # one byte that is invalid in the declared charset; here the byte is
    # replaced and the card kept.
    raw = quopri.decodestring(value.encode("utf-8"))
    if charset:
        try:
            return raw.decode(charset)
        except LookupError:
            warnings.append(f"{name} has an unknown charset {charset!r}")
        except UnicodeDecodeError:
            warnings.append(f"{name} is not valid {charset}; unreadable bytes replaced")
            return raw.decode(charset, errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _parse_error(exc: ParseError, emitted: list[tuple[int, str]]) -> str:
    # vobject's own line numbers count each line twice, so the failing line
    # is found by its text instead.
    message = getattr(exc, "msg", str(exc))
    if isinstance(message, str) and message.startswith(_FAILED_LINE):
        bad = message[len(_FAILED_LINE) :]
        for number, text in emitted:
            if text == bad:
                return f"line {number} cannot be read: {bad!r}"
    return f"the card cannot be read: {message}"


def _to_record(component, position: str, warnings: list[str]) -> ContactRecord | None:
    """Return the card as a ContactRecord, or None when it names nobody."""
    contents = component.contents
    full_name = _first_text(contents.get("fn"))
    given = family = ""
    names = contents.get("n") or []
    if names:
        name = names[0].value
        given = _join(getattr(name, "given", ""))
        family = _join(getattr(name, "family", ""))
        if not full_name:
            parts = (given, _join(getattr(name, "additional", "")), family)
            full_name = " ".join(part for part in parts if part)

    emails: list[str] = []
    for line in contents.get("email", []):
        email = _text(line.value).strip()
        if not email:
            continue
        if "@" not in email:
            warnings.append(f"EMAIL {email!r} is not an email address; left out")
            continue
        if email.lower() not in (known.lower() for known in emails):
            emails.append(email)

    phones: list[str] = []
    for line in contents.get("tel", []):
        phone = _phone(_text(line.value))
        if phone and phone not in phones:
            phones.append(phone)

    company = ""
    orgs = contents.get("org") or []
    if orgs:
        value = orgs[0].value
        company = _text(value[0] if isinstance(value, list) and value else value)
        company = company.strip()
    if not full_name:
        full_name = company

    if not (full_name or emails or phones):
        return None

    tags: list[str] = []
    for line in contents.get("categories", []):
        values = line.value if isinstance(line.value, list) else [line.value]
        for value in values:
            tag = _text(value).strip().lower()
            if tag and tag not in tags:
                tags.append(tag)

    notes = [_text(line.value).strip() for line in contents.get("note", [])]
    birthday, birthday_text = _birthday(contents.get("bday") or [], warnings)

    return ContactRecord(
        source=SOURCE,
        position=position,
        full_name=full_name,
        given_name=given,
        family_name=family,
        emails=tuple(emails),
        phones=tuple(phones),
        company=company,
        title=_first_text(contents.get("title")),
        notes="\n\n".join(note for note in notes if note),
        tags=tuple(tags),
        birthday=birthday,
        birthday_text=birthday_text,
    )


def _birthday(lines: list, warnings: list[str]) -> tuple[Birthday | None, str]:
    """Return the first BDAY as a Birthday, or its text when it is no date."""
    if not lines:
        return None, ""
    if len(lines) > 1:
        warnings.append(f"{len(lines)} BDAY values; the first is used")
    line = lines[0]
    text = _text(line.value).strip()
    if not text:
        return None, ""
    value_types = [v.lower() for v in line.params.get("VALUE", [])]
    if "text" in value_types:
        warnings.append(f"the birthday is text, not a date: {text!r}")
        return None, text
    try:
        birthday = parse_birthday(text)
    except BirthdayError as exc:
        warnings.append(f"the birthday {text!r} is not a real date: {exc}")
        return None, text
    if birthday is None:
        warnings.append(f"the birthday {text!r} is not a date")
        return None, text

    # Apple writes a year-less birthday as a date in the year named by
    # X-APPLE-OMIT-YEAR (1604); that year is a placeholder, not the year.
    omitted = line.params.get("X-APPLE-OMIT-YEAR", [])
    if birthday.year is not None and str(birthday.year) in omitted:
        birthday = Birthday(month=birthday.month, day=birthday.day)
    return birthday, ""


def _phone(value: str) -> str:
    value = value.strip()
    if value.lower().startswith("tel:"):
        # vCard 4.0 writes TEL as an RFC 3966 URI: "tel:+1-418-555-0154;ext=102".
        number, *params = value[4:].split(";")
        extension = next(
            (p[4:] for p in params if p.lower().startswith("ext=") and p[4:]), ""
        )
        value = f"{number} ext. {extension}" if extension else number
    return value.strip()


def _first_text(lines: list | None) -> str:
    if not lines:
        return ""
    return _text(lines[0].value).strip()


def _join(value) -> str:
    if isinstance(value, list):
        return " ".join(part.strip() for part in value if part and part.strip())
    return (value or "").strip()


def _text(value) -> str:
    if isinstance(value, list):
        value = ",".join(str(part) for part in value)
    # vobject leaves escapes that vCard does not define as they are; exports
    # write them for plain quotes (``B\'C``).
    return str(value or "").replace("\\'", "'").replace('\\"', '"')
