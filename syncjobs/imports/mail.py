"""Turn mbox files and .eml messages into interaction and contact records.

Each message becomes one per-contact ``email`` interaction with the people on
the other side, and each distinct counterpart address one contact record.
Only headers are read: the counterparts, the date and the subject are all
the CRM keeps of a mail.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from email.parser import BytesParser
from email.policy import EmailPolicy
from pathlib import Path

from syncjobs.emailaddr import (
    counterparts,
    decode_header_text,
    fallback_reference,
    message_reference,
    parse_address_header,
    parse_date_header,
)
from syncjobs.records import (
    ContactRecord,
    InteractionRecord,
    ParseResult,
    Participant,
    RecordProblem,
)

logger = logging.getLogger(__name__)

PLATFORM = "email"
PREVIEW_LENGTH = 500

# "Name: value" with a field name as RFC 5322 §3.6.8 allows it (printable
# ASCII except the colon); an empty value is allowed ("X-Test-Header:").
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:")
# From_ lines that only a mail store writes: "From -", "From addr@host",
# "From sender Day Mon ..." (asctime). Prose in a body rarely looks like this.
_ENVELOPE_LINE = re.compile(
    rb"^From (-\s*$|\S+@\S+|\S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) )"
)


class _RawHeaderPolicy(EmailPolicy):
    """Hand header values back as their source text.

    ``syncjobs.emailaddr`` does the parsing: the stdlib's own address
    header objects drop the angle address of an element they cannot
    tokenise, and their string form no longer shows it.
    """

    def header_fetch_parse(self, name, value):
        return value


_RAW_HEADERS = _RawHeaderPolicy()


def parse_mbox(path: str | Path, *, own_addresses: frozenset[str]) -> ParseResult:
    """Return one interaction per message in an mbox file and its counterparts."""
    data = Path(path).read_bytes()
    result = ParseResult()
    contacts: dict[str, ContactRecord] = {}

    for number, (line_number, message) in enumerate(split_mbox(data), start=1):
        position = f"message #{number} (line {line_number})"
        _merge(
            result,
            contacts,
            parse_mail_bytes(
                message, own_addresses=own_addresses, position=position, source="mbox"
            ),
        )

    result.contacts = list(contacts.values())
    return result


def parse_eml(path: str | Path, *, own_addresses: frozenset[str]) -> ParseResult:
    """Return the interaction and counterpart contacts of one .eml message."""
    return parse_mail_bytes(
        Path(path).read_bytes(),
        own_addresses=own_addresses,
        position="message #1",
        source="eml",
    )


def parse_mail_bytes(
    data: bytes,
    *,
    own_addresses: frozenset[str],
    position: str = "message #1",
    source: str = "eml",
) -> ParseResult:
    """Return the records of one raw RFC 5322 message.

    A message with no sender address or no usable Date is skipped as an
    error (its date is never guessed); one sent only to the user's own
    addresses is skipped with a warning, since it is no one's interaction.
    """
    result = ParseResult(items_read=1)
    # A leading mbox From_ line is taken as the envelope, not as a header.
    message = BytesParser(policy=_RAW_HEADERS).parsebytes(data, headersonly=True)

    senders = _addresses(message, "From")
    if not senders:
        raw = _first(message, "From")
        reason = f"no sender address in From: {raw!r}" if raw else "no From header"
        result.errors.append(RecordProblem(position, reason))
        return result

    raw_date = _first(message, "Date")
    occurred_at = parse_date_header(raw_date)
    if occurred_at is None:
        reason = f"unreadable Date: {raw_date!r}" if raw_date else "no Date header"
        result.errors.append(RecordProblem(position, reason))
        return result

    recipients = [
        pair for name in ("To", "Cc", "Bcc") for pair in _addresses(message, name)
    ]
    direction, others = counterparts(
        senders=senders, recipients=recipients, own_addresses=own_addresses
    )
    if not others:
        result.warnings.append(
            RecordProblem(position, "no counterpart: only the user's own addresses")
        )
        return result

    raw_subject = _first(message, "Subject")
    reference = message_reference(_first(message, "Message-ID"))
    if not reference:
        # No Message-ID: hash the headers that identify the message instead,
        # so importing the same file twice still dedups.
        reference = fallback_reference(
            sender=_first(message, "From"), date=raw_date, subject=raw_subject
        )

    result.interactions.append(
        InteractionRecord(
            platform=PLATFORM,
            direction=direction,
            occurred_at=occurred_at,
            reference_id=reference,
            position=position,
            participants=tuple(
                Participant(email=address, name=name) for name, address in others
            ),
            content_preview=decode_header_text(raw_subject)[:PREVIEW_LENGTH],
            per_contact=True,
        )
    )
    result.contacts.extend(
        ContactRecord(
            source=source, position=position, full_name=name, emails=(address,)
        )
        for name, address in others
    )
    return result


def split_mbox(data: bytes) -> list[tuple[int, bytes]]:
    """Return (first line number, raw message) for each message of an mbox.

    A "From " line separates messages only when the next line is a header
    and the line is at the start of the file, follows a blank line, or is a
    From_ line only a mail store would write ("From -", "From a@b",
    "From a Mon ..."). The stdlib's ``mailbox.mbox`` splits on every line
    starting "From ", which cuts a message in two at an unescaped "From "
    in its body. mboxrd's ">From " unescaping is not done: bodies are not
    read.
    """
    lines = data.splitlines(keepends=True)
    starts = [i for i in range(len(lines)) if _is_separator(lines, i)]
    preamble = b"".join(lines[: starts[0]] if starts else lines)
    if not starts or preamble.strip():
        # Text before the first From_ line (or a file with none) is a
        # message without an envelope.
        starts.insert(0, -1)

    messages = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(lines)
        body = b"".join(lines[start + 1 : end])
        if body.strip():
            messages.append((start + 1 if start >= 0 else 1, body))
    return messages


def _is_separator(lines: list[bytes], i: int) -> bool:
    line = lines[i]
    if not line.startswith(b"From "):
        return False
    if i + 1 >= len(lines) or not _HEADER_LINE.match(lines[i + 1]):
        return False
    return i == 0 or not lines[i - 1].strip() or bool(_ENVELOPE_LINE.match(line))


def _merge(
    result: ParseResult, contacts: dict[str, ContactRecord], part: ParseResult
) -> None:
    """Add ``part`` to ``result``, keeping one contact per address.

    The first message that names an address positions its contact; a later
    one only fills in a name the earlier ones lacked.
    """
    result.interactions.extend(part.interactions)
    result.errors.extend(part.errors)
    result.warnings.extend(part.warnings)
    result.items_read += part.items_read
    for contact in part.contacts:
        known = contacts.get(contact.emails[0])
        if known is None:
            contacts[contact.emails[0]] = contact
        elif not known.full_name and contact.full_name:
            contacts[contact.emails[0]] = dataclasses.replace(
                known, full_name=contact.full_name
            )


def _first(message, name: str) -> str:
    value = message.get(name)
    return value if isinstance(value, str) else ""


def _addresses(message, name: str) -> list[tuple[str, str]]:
    pairs = []
    for value in message.get_all(name) or ():
        pairs.extend(parse_address_header(value))
    return pairs
