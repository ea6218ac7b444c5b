"""Read a Google Contacts CSV export into contact records.

Both header layouts Google has used are read: the legacy one (``Given Name``,
``E-mail 1 - Type``, ``Group Membership``) and the 2023+ one (``First Name``,
``E-mail 1 - Label``, ``Labels``). A cell may hold several values separated
by `` ::: ``; a type or label starting with ``* `` marks the primary value
or a system group.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path

from contacts.birthdays import Birthday, BirthdayError, parse_birthday
from syncjobs.records import ContactRecord, ParseResult, RecordProblem

logger = logging.getLogger(__name__)

SOURCE = "csv"

_MULTI_VALUE = " ::: "
_PRIMARY = "*"
# Every contact is in Google's "My Contacts" group, so as a tag it says nothing.
_ALL_CONTACTS_GROUP = "mycontacts"
_EMAIL_VALUE = re.compile(r"^E-mail (\d+) - Value$")
_PHONE_VALUE = re.compile(r"^Phone (\d+) - Value$")
_WEBSITE_VALUE = re.compile(r"^Website (\d+) - Value$")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class _Row:
    """One data row, read by header name whichever layout the file uses."""

    def __init__(self, header: dict[str, int], cells: list[str]):
        self._header = header
        self._cells = cells

    def get(self, *names: str) -> str:
        for name in names:
            index = self._header.get(name)
            if index is not None and index < len(self._cells):
                value = self._cells[index].strip()
                if value:
                    return value
        return ""


def parse_google_csv(path: str | Path) -> ParseResult:
    """Return the contacts of the Google Contacts CSV file at ``path``."""
    return parse_google_csv_data(Path(path).read_bytes())


def parse_google_csv_data(data: bytes | str) -> ParseResult:
    """Return the contacts of a Google Contacts CSV export's content."""
    result = ParseResult()
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        text = _decode(data, result)
    # newline="" hands line ends to the csv module, which needs them to keep
    # a quoted multi-line Notes cell in one field.
    reader = csv.reader(io.StringIO(text, newline=""))

    header_cells = next(reader, None)
    if not header_cells:
        result.errors.append(RecordProblem("line 1", "the file has no header row"))
        return result
    header = {name.strip(): index for index, name in enumerate(header_cells)}
    if not any(name in header for name in ("Name", "Given Name", "First Name")):
        result.errors.append(
            RecordProblem("line 1", "not a Google Contacts CSV: no name columns")
        )
        return result
    columns = _Columns(header)

    end_of_previous = reader.line_num
    while True:
        # A row starts on the line after the previous one ended; line_num
        # then moves to the row's last line, past any multi-line cell.
        position = f"line {end_of_previous + 1}"
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.items_read += 1
            result.errors.append(RecordProblem(position, f"unreadable row: {exc}"))
            end_of_previous = reader.line_num
            continue
        end_of_previous = reader.line_num
        if not cells:
            continue

        result.items_read += 1
        if len(cells) > len(header_cells):
            result.warnings.append(
                RecordProblem(
                    position,
                    f"the row has {len(cells)} fields but the header has "
                    f"{len(header_cells)}; the extra fields are ignored",
                )
            )
        _read_row(_Row(header, cells), columns, position, result)
    return result


class _Columns:
    """The numbered e-mail, phone and website columns the header has."""

    def __init__(self, header: dict[str, int]):
        self.emails = _numbered(header, _EMAIL_VALUE)
        self.phones = _numbered(header, _PHONE_VALUE)
        self.websites = _numbered(header, _WEBSITE_VALUE)


def _numbered(header: dict[str, int], pattern: re.Pattern[str]) -> list[str]:
    found = [(int(m.group(1)), name) for name in header if (m := pattern.match(name))]
    return [name for _, name in sorted(found)]


def _decode(data: bytes, result: ParseResult) -> str:
    if data.startswith(_UTF16_BOMS):
        # errors="replace": a file cut at an odd byte still yields its rows.
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Google's "Outlook CSV" export uses the Windows code page.
        result.warnings.append(
            RecordProblem("line 1", "the file is not UTF-8; read it as Windows-1252")
        )
        return data.decode("cp1252", errors="replace")


def _read_row(row: _Row, columns: _Columns, position: str, result: ParseResult):
    given = row.get("Given Name", "First Name")
    middle = row.get("Additional Name", "Middle Name")
    family = row.get("Family Name", "Last Name")
    company = row.get("Organization 1 - Name", "Organization Name")
    full_name = (
        row.get("Name")
        or " ".join(part for part in (given, middle, family) if part)
        or company
    )
    emails = _values(row, columns.emails, "E-mail")
    phones = _values(row, columns.phones, "Phone")
    if not (full_name or emails or phones):
        result.errors.append(
            RecordProblem(position, "the row has no name, e-mail or phone")
        )
        return

    warnings: list[str] = []
    birthday, birthday_text = _birthday(row.get("Birthday"), warnings)
    result.warnings.extend(RecordProblem(position, w) for w in warnings)
    websites = _values(row, columns.websites, "Website")
    result.contacts.append(
        ContactRecord(
            source=SOURCE,
            position=position,
            full_name=full_name,
            given_name=given,
            family_name=family,
            emails=tuple(emails),
            phones=tuple(phones),
            company=company,
            title=row.get("Organization 1 - Title", "Organization Title"),
            location=row.get("Location"),
            notes=row.get("Notes").replace("\r\n", "\n"),
            tags=tuple(_tags(row.get("Group Membership", "Labels"))),
            birthday=birthday,
            birthday_text=birthday_text,
            avatar_url=row.get("Photo"),
            linkedin_url=next((w for w in websites if "linkedin.com/in/" in w), ""),
        )
    )


def _values(row: _Row, value_columns: list[str], kind: str) -> list[str]:
    """Return the values of the numbered columns, the primary one first."""
    primary: list[str] = []
    others: list[str] = []
    for column in value_columns:
        number = column.split(" ")[1]
        kind_of_value = row.get(f"{kind} {number} - Type", f"{kind} {number} - Label")
        target = primary if kind_of_value.startswith(_PRIMARY) else others
        for value in row.get(column).split(_MULTI_VALUE):
            value = value.strip()
            if value and value not in primary and value not in others:
                target.append(value)
    return primary + others


def _tags(groups: str) -> list[str]:
    tags: list[str] = []
    for group in groups.split(_MULTI_VALUE):
        tag = group.strip().removeprefix(_PRIMARY).strip().lower()
        if tag and tag != _ALL_CONTACTS_GROUP and tag not in tags:
            tags.append(tag)
    return tags


def _birthday(text: str, warnings: list[str]) -> tuple[Birthday | None, str]:
    """Return the Birthday cell as a Birthday, or its text when it is no date."""
    if not text:
        return None, ""
    try:
        birthday = parse_birthday(text)
    except BirthdayError as exc:
        warnings.append(f"the birthday {text!r} is not a real date: {exc}")
        return None, text
    if birthday is None:
        warnings.append(f"the birthday {text!r} is not a date")
        return None, text
    return birthday, ""
