"""Read the people out of e-mail headers: addresses, display names, who is who.

Every e-mail source (mbox and .eml imports, the Gmail provider) goes through
these functions, so one message gives the same counterparts, dates and
dedup key wherever it was read from.

Address lists are parsed with ``email.policy.default`` *before* any
encoded-word is decoded (RFC 2047 §6.2): a ``=2C`` inside an encoded
display name is a comma in the name, never an address separator.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from email import errors, policy
from email.utils import parsedate_to_datetime

from syncjobs.records import INBOUND, OUTBOUND

logger = logging.getLogger(__name__)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# An Exchange X.500 distinguished name ("/O=ORG/OU=EXCHANGE/CN=RECIPIENTS/...")
# shows up as the display name of mail exported from Exchange; it names a
# directory entry, not a person.
_X500_DN = re.compile(r"^/o=[^/]*/", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def normalise_email(address: str) -> str:
    """Return ``address`` trimmed and lower-cased, or "" if it is no address."""
    candidate = address.strip()
    if candidate.startswith("<") and candidate.endswith(">"):
        candidate = candidate[1:-1].strip()
    if not _looks_like_address(candidate):
        return ""
    return candidate.lower()


def parse_address_header(value: str) -> list[tuple[str, str]]:
    """Return the (decoded display name, address) pairs of an address header.

    1. Unfold the value and parse it whole with ``email.policy.default``,
       which decodes encoded-words only after the list is split.
    2. If the parser reports an invalid element (a bare ``@`` in a display
       name, say), split the raw list at its top-level commas and parse each
       element on its own, taking the angle address of an element the
       parser still rejects.

    Groups contribute their members (an empty group nothing), and anything
    that is not a full ``local@domain`` address is dropped, so no entry is
    ever without an address.
    """
    text = _unfold(_decode_8bit(value))
    if not text.strip():
        return []

    header = _parse_list(text)
    if header is not None and not _has_invalid_element(header):
        return _valid_pairs(header)

    pairs: list[tuple[str, str]] = []
    for element in _split_elements(text):
        pairs.extend(_parse_element(element))
    return pairs


def contact_name(display_name: str, address: str) -> str:
    """Return ``display_name`` if it names a person, else ""."""
    name = " ".join(display_name.split())
    if not name:
        return ""
    if name.strip("'\"").lower() == address.strip().lower():
        return ""
    if _X500_DN.match(name):
        return ""
    return name


def counterparts(
    *,
    senders: list[tuple[str, str]],
    recipients: list[tuple[str, str]],
    own_addresses: frozenset[str],
) -> tuple[str, list[tuple[str, str]]]:
    """Return the direction and the (name, normalised address) on the other side.

    A message sent from one of ``own_addresses`` is outbound and its
    counterparts are the recipients; any other message is inbound and only
    its senders count (as in the original product: being copied on a mail is
    not an interaction with the other recipients). The user's own addresses
    are left out, and each address appears once, with the first usable name
    it was given.
    """
    own = {normalise_email(address) for address in own_addresses} - {""}
    sender_addresses = {normalise_email(address) for _, address in senders}
    outbound = bool(sender_addresses & own)
    chosen = recipients if outbound else senders

    names: dict[str, str] = {}
    for display_name, address in chosen:
        key = normalise_email(address)
        if not key or key in own:
            continue
        if not names.get(key):
            names[key] = contact_name(display_name, address)
    return (OUTBOUND if outbound else INBOUND), [(n, a) for a, n in names.items()]


def decode_header_text(value: str) -> str:
    """Return an unstructured header (Subject) with its encoded-words decoded.

    Adjacent encoded-words are joined without the whitespace between them
    (RFC 2047 §6.2), which matters for ISO-2022-JP subjects split across
    folded lines.
    """
    text = _unfold(_decode_8bit(value))
    try:
        return " ".join(str(policy.default.header_factory("subject", text)).split())
    except Exception:  # the stdlib parser fails on some malformed input
        logger.warning("undecodable header text kept raw: %r", text[:200])
        return " ".join(text.split())


def parse_date_header(value: str) -> dt.datetime | None:
    """Return the Date header as an aware UTC datetime, or None if unusable."""
    text = _unfold(_decode_8bit(value)).strip()
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        # "-0000" means UTC with no word on the sender's zone (RFC 5322 §3.3).
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:
        # Year 9999 (or 1) pushed past the calendar's end by the offset.
        return None


def message_reference(message_id: str) -> str:
    """Return the dedup key ``email:<id>`` for a Message-ID header, or ""."""
    text = _unfold(_decode_8bit(message_id)).strip()
    match = _MESSAGE_ID.search(text)
    if match:
        return f"email:{match.group(1)}"
    if text and not any(ch.isspace() for ch in text):
        return f"email:{text}"
    return ""


def fallback_reference(*, sender: str, date: str, subject: str) -> str:
    """Return a stable ``email:hash-...`` key for a message with no Message-ID.

    The raw From, Date and Subject are hashed because together they are the
    closest thing such a message has to an identity; the same message read
    twice gets the same key, two messages differing in any of them do not.
    """
    parts = (_unfold(_decode_8bit(v)).strip() for v in (sender, date, subject))
    digest = hashlib.sha256("\n".join(parts).encode("utf-8", "replace"))
    return f"email:hash-{digest.hexdigest()[:32]}"


def _unfold(value: str) -> str:
    # The same unfolding email.policy.default applies before it parses.
    return _LINE_BREAK.sub("", value)


def _decode_8bit(value: str) -> str:
    """Turn surrogate-escaped raw header bytes back into text.

    ``email`` keeps undecodable header bytes as lone surrogates. RFC 6532
    says raw header bytes are UTF-8; older mail that is not valid UTF-8 is
    almost always Latin-1, so that is the fallback.
    """
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _parse_list(text: str):
    try:
        return policy.default.header_factory("to", text)
    except Exception:  # the stdlib parser raises IndexError on "x@" and kin
        return None


def _has_invalid_element(header) -> bool:
    return any(isinstance(d, errors.InvalidHeaderDefect) for d in header.defects)


def _valid_pairs(header) -> list[tuple[str, str]]:
    pairs = []
    for address in header.addresses:
        spec = address.addr_spec
        if _looks_like_address(spec):
            pairs.append((" ".join(address.display_name.split()), spec))
    return pairs


def _parse_element(element: str) -> list[tuple[str, str]]:
    header = _parse_list(element)
    if header is not None and not _has_invalid_element(header):
        return _valid_pairs(header)

    # The stdlib parser gives up on a display name it cannot tokenise (an
    # unquoted "@" in "Mika@Linden <m@example.com>") and returns the name as
    # the address; the angle address at the end of the element is the real one.
    phrase, bracket, rest = element.rpartition("<")
    if bracket:
        address = rest.split(">", 1)[0].strip()
        if _looks_like_address(address):
            return [(_decode_phrase(phrase), address)]
    return _valid_pairs(header) if header is not None else []


def _decode_phrase(phrase: str) -> str:
    name = decode_header_text(phrase.strip())
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    return " ".join(name.split())


def _split_elements(text: str) -> list[str]:
    """Split a raw address list at top-level commas, dropping group syntax.

    Raw, not decoded, text is split: RFC 2047 forbids a literal comma or
    colon inside an encoded-word, so every separator found here is real.
    """
    elements: list[str] = []
    current: list[str] = []
    in_quote = in_angle = escaped = False
    comment_depth = 0
    for ch in text:
        if escaped:
            escaped = False
        elif in_quote or comment_depth:
            if ch == "\\":
                escaped = True
            elif in_quote and ch == '"':
                in_quote = False
            elif comment_depth and ch == "(":
                comment_depth += 1
            elif comment_depth and ch == ")":
                comment_depth -= 1
        elif ch == '"':
            in_quote = True
        elif ch == "(":
            comment_depth = 1
        elif ch == "<":
            in_angle = True
        elif ch == ">":
            in_angle = False
        elif not in_angle and ch in ",;":
            elements.append("".join(current))
            current = []
            continue
        elif not in_angle and ch == ":":
            # "name: member, member;" — the group's name is not an address.
            current = []
            continue
        current.append(ch)
    elements.append("".join(current))
    return [element.strip() for element in elements if element.strip()]


def _looks_like_address(candidate: str) -> bool:
    local, at, domain = candidate.rpartition("@")
    if not (at and local and domain):
        return False
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in candidate):
        return False
    if any(ch in "<>" for ch in candidate):
        return False
    # A lone surrogate is an undecoded byte, never part of a real address.
    return not any("\ud800" <= ch <= "\udfff" for ch in candidate)
