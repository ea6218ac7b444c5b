"""Turn any spelling of a LinkedIn person-profile URL into one canonical key.

This is the only place in the product that decides whether two LinkedIn URLs
name the same person: the Connections.csv and messages.csv imports, the
extension push and the contact editor all call ``normalise_profile_url`` and
compare (and index) what it returns.

The canonical form is ``https://www.linkedin.com/in/<slug>`` where the slug
is percent-decoded, NFC-normalised Unicode, lower-cased. So ``%C3%A9``, a
precomposed ``é`` and ``e`` plus a combining acute all give the same key, and
the key reads the way LinkedIn shows the address in a browser bar. Decoded
Unicode was picked over re-encoded ``%XX`` because the extension's profile
ids (Voyager ``publicIdentifier``) are decoded too, so the slug from a URL
and the id from a push compare equal without another conversion.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlsplit

CANONICAL_PREFIX = "https://www.linkedin.com/in/"

# LinkedIn caps a profile's public URL part at 100 characters; anything
# longer is not a slug, and the key column is sized for prefix + 100.
MAX_SLUG_LENGTH = 100

# Single-label subdomains that LinkedIn serves profiles under: "www", the
# mobile hosts, and two-letter country or language hosts (uk., de., fr.).
_SUBDOMAIN = re.compile(r"(?:www|m|mobile|touch|[a-z]{2})")

# Member URN ids ("ACoAAB..." from Voyager, "ACwAAB..." from Sales
# Navigator) also work as /in/<id> URLs. They are base64-like and
# case-sensitive, so lower-casing them would make a key that no longer
# names the member; they keep their case.
_MEMBER_URN_ID = re.compile(r"AC[ow]AA[A-Za-z0-9_-]{20,}")

_EXPLICIT_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_DANGEROUS_SCHEME = re.compile(
    r"(?:javascript|vbscript|data|file|about|blob|mailto|tel):", re.IGNORECASE
)
_ASCII_SLUG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
# The same test for a whole ASCII slug at once (a push checks hundreds).
_ASCII_SLUG = re.compile(r"[A-Za-z0-9_.-]+")

# Zero-width characters that survive copy and paste around a URL but are
# not whitespace to str.strip().
_INVISIBLE_EDGES = "\u200b\u200c\u200d\u2060\ufeff"

# A URL pasted from an e-mail or chat is sometimes percent-encoded twice;
# decoding stops once nothing changes, and after this many rounds.
_MAX_DECODE_ROUNDS = 3


def normalise_profile_url(value: str | None) -> str:
    """Return ``https://www.linkedin.com/in/<slug>``, or "" if not a profile.

    Steps:
    1. Trim whitespace; add ``https://`` when there is no scheme.
    2. Accept only http(s), no user info, a default port, and the host
       linkedin.com itself or one allowed subdomain of it (so
       ``linkedin.com.evil.example`` and ``notlinkedin.com`` fail).
    3. Take the path segment after ``/in/``; drop the query, fragment and
       any trailing sub-path (``/details/experience/``, ``/overlay/...``).
    4. Percent-decode the slug, NFC-normalise it and lower-case it (our
       product treats vanity slugs as case-insensitive), except member URN
       ids, which keep their case.
    5. Reject slugs with no letter or digit, longer than 100 characters, or
       with characters that cannot be in a slug (space, "/", "%", "?",
       controls, U+FFFD from broken encoding), so the result always
       normalises to itself.

    Company, school, feed, post and search pages, and the retired
    ``/pub/<name>/1/23/456`` form, give "".
    """
    if not isinstance(value, str):
        return ""
    text = value.strip().strip(_INVISIBLE_EDGES).strip()
    if not text:
        return ""

    if text.startswith("//"):
        text = "https:" + text
    elif _DANGEROUS_SCHEME.match(text):
        return ""
    elif not _EXPLICIT_SCHEME.match(text):
        text = "https://" + text

    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        # Bad IPv6 brackets, a non-numeric port, or a host that NFKC turns
        # into URL delimiters: none of these is a LinkedIn address.
        return ""

    if parts.scheme.lower() not in ("http", "https"):
        return ""
    if "@" in parts.netloc or port not in (None, 80, 443):
        return ""
    if not _is_linkedin_host(parts.hostname or ""):
        return ""

    segments = [segment for segment in parts.path.split("/") if segment]
    # The old public-profile form /pub/<name>/<a>/<bc>/<def> does name a
    # person, but only LinkedIn's redirect knows which /in/ slug it became;
    # guessing the slug could merge two people, so it is not a key.
    if len(segments) < 2 or segments[0].lower() != "in":
        return ""

    slug = _canonical_slug(segments[1])
    if not slug:
        return ""
    return CANONICAL_PREFIX + slug


def profile_url_key_of_id(profile_id: str) -> str:
    """Return the canonical URL of ``/in/<profile_id>``, or "" if it is not one."""
    return normalise_profile_url(CANONICAL_PREFIX + profile_id) if profile_id else ""


def profile_id_from_url(url: str | None) -> str:
    """Return the canonical slug of a person-profile URL, or ""."""
    canonical = normalise_profile_url(url)
    return canonical.removeprefix(CANONICAL_PREFIX)


def _is_linkedin_host(hostname: str) -> bool:
    host = hostname.lower().rstrip(".")
    if host == "linkedin.com":
        return True
    subdomain, dot, rest = host.partition(".")
    return (
        bool(dot) and rest == "linkedin.com" and bool(_SUBDOMAIN.fullmatch(subdomain))
    )


def _canonical_slug(raw: str) -> str:
    decoded = raw
    for _ in range(_MAX_DECODE_ROUNDS):
        step = unquote(decoded, errors="replace")
        if step == decoded:
            break
        decoded = step

    decoded = unicodedata.normalize("NFC", decoded)
    if not _MEMBER_URN_ID.fullmatch(decoded):
        decoded = unicodedata.normalize("NFC", decoded.lower())

    # Zero-width characters at the ends would be trimmed off the whole URL
    # the next time round, so they are trimmed here too.
    decoded = decoded.strip(_INVISIBLE_EDGES)
    if len(decoded) > MAX_SLUG_LENGTH or not any(char.isalnum() for char in decoded):
        return ""
    if decoded.isascii():
        return decoded if _ASCII_SLUG.fullmatch(decoded) else ""
    if not all(_is_slug_char(char) for char in decoded):
        return ""
    return decoded


def _is_slug_char(char: str) -> bool:
    if char.isascii():
        # Upper-case letters are left only in member URN ids.
        return char.lower() in _ASCII_SLUG_CHARS
    if char == "\ufffd":
        return False
    if char == "\u200d":
        # The zero-width joiner inside emoji sequences, which LinkedIn
        # allows in slugs (see the 🔸 slugs in real Connections.csv files).
        return True
    return unicodedata.category(char)[0] not in ("Z", "C")
