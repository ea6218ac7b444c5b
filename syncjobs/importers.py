"""Tell which export format a file is, and read it with the matching parser.

The extension says what a file claims to be; its first bytes say what it
is. A ``.csv`` is a Google Contacts or a LinkedIn export by its header
row, and a folder or ``.zip`` is an X archive when it holds
``direct-messages.js``.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

from contacts.models import User
from linkedin.export import parse_connections_csv, parse_messages_csv
from syncjobs.emailaddr import normalise_email
from syncjobs.imports.google_csv import parse_google_csv
from syncjobs.imports.mail import parse_eml, parse_mbox
from syncjobs.imports.twitter_archive import parse_twitter_archive
from syncjobs.imports.vcard import parse_vcards
from syncjobs.models import ProviderAccount
from syncjobs.records import ParseResult

FORMAT_MBOX = "mbox"
FORMAT_EML = "eml"
FORMAT_VCARD = "vcard"
FORMAT_GOOGLE_CSV = "google_csv"
FORMAT_LINKEDIN_CONNECTIONS = "linkedin_connections"
FORMAT_LINKEDIN_MESSAGES = "linkedin_messages"
FORMAT_TWITTER_ARCHIVE = "twitter_archive"
FORMATS = (
    FORMAT_MBOX,
    FORMAT_EML,
    FORMAT_VCARD,
    FORMAT_GOOGLE_CSV,
    FORMAT_LINKEDIN_CONNECTIONS,
    FORMAT_LINKEDIN_MESSAGES,
    FORMAT_TWITTER_ARCHIVE,
)

# Enough of a file to see its header, even after LinkedIn's "Notes:" preamble.
_SNIFF_BYTES = 64 * 1024
_SNIFF_ROWS = 10
_DM_FILE = re.compile(r"^direct-messages(-group)?(-part\d+)?\.js$")
_HEADER_LINE = re.compile(rb"^[\x21-\x39\x3b-\x7e]+:[ \t]?\S")


class UnknownFormat(ValueError):
    """The file is none of the export formats an import reads."""


def detect_format(path: str | Path) -> str:
    """Return which of ``FORMATS`` the file or folder at ``path`` is.

    Raise UnknownFormat when neither its name nor its content says.
    """
    path = Path(path)
    if path.is_dir():
        if _folder_has_dms(path):
            return FORMAT_TWITTER_ARCHIVE
        raise UnknownFormat(f"{path.name}: a folder without direct-messages.js")
    if not path.is_file():
        raise UnknownFormat(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        if _zip_has_dms(path):
            return FORMAT_TWITTER_ARCHIVE
        raise UnknownFormat(f"{path.name}: a zip file without direct-messages.js")

    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_format(head, name=path.name)
    if suffix in (".vcf", ".vcard"):
        return FORMAT_VCARD
    if suffix == ".mbox":
        return FORMAT_MBOX
    if suffix == ".eml":
        return FORMAT_EML
    if _DM_FILE.match(path.name):
        return FORMAT_TWITTER_ARCHIVE
    return _sniff(head, name=path.name)


def _folder_has_dms(path: Path) -> bool:
    folders = [p for p in (path, path / "data") if p.is_dir()]
    return any(_DM_FILE.match(p.name) for folder in folders for p in folder.iterdir())


def _zip_has_dms(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(_DM_FILE.match(Path(name).name) for name in archive.namelist())


def _sniff(head: bytes, *, name: str) -> str:
    """Tell a file without a known extension by its first bytes."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:11].upper() == b"BEGIN:VCARD":
        return FORMAT_VCARD
    if text.startswith(b"window.YTD.direct_messages"):
        return FORMAT_TWITTER_ARCHIVE
    if text.startswith(b"From "):
        # An mbox starts with a From_ line; so does one message saved from a
        # mail store, which reads the same as an mbox of one message.
        return FORMAT_MBOX
    if _HEADER_LINE.match(text):
        return FORMAT_EML
    try:
        return _csv_format(head, name=name)
    except UnknownFormat:
        raise UnknownFormat(f"{name}: not a format an import reads") from None


def _csv_format(head: bytes, *, name: str) -> str:
    """Tell Google Contacts and the two LinkedIn CSV exports by their header."""
    text = head.decode("utf-8-sig", errors="replace")
    # The last line of the sniffed bytes may be cut short; drop it.
    if len(head) == _SNIFF_BYTES:
        text = text.rsplit("\n", 1)[0]
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header_rows = [row for _, row in zip(range(_SNIFF_ROWS), rows, strict=False)]
    except csv.Error as exc:
        raise UnknownFormat(f"{name}: not readable as CSV ({exc})") from None
    for row in header_rows:
        cells = {cell.strip().lower() for cell in row}
        if {"conversation id", "from", "to"} <= cells:
            return FORMAT_LINKEDIN_MESSAGES
        if {"first name", "last name", "connected on"} <= cells:
            return FORMAT_LINKEDIN_CONNECTIONS
        if any(cell.startswith(("e-mail 1 -", "phone 1 -")) for cell in cells) or (
            "given name" in cells
        ):
            return FORMAT_GOOGLE_CSV
    raise UnknownFormat(f"{name}: a CSV file whose header is not a known export")


def own_addresses(owner: User) -> frozenset[str]:
    """Return the user's own addresses: their login and their Google accounts."""
    accounts = ProviderAccount.objects.filter(
        owner=owner, kind=ProviderAccount.KIND_GOOGLE
    ).values_list("account_id", flat=True)
    addresses = {normalise_email(owner.email), *map(normalise_email, accounts)}
    return frozenset(address for address in addresses if address)


def parse_file(*, owner: User, path: str | Path, fmt: str) -> ParseResult:
    """Return the records of the export at ``path``, read as format ``fmt``."""
    path = Path(path)
    if fmt == FORMAT_MBOX:
        return parse_mbox(path, own_addresses=own_addresses(owner))
    if fmt == FORMAT_EML:
        return parse_eml(path, own_addresses=own_addresses(owner))
    if fmt == FORMAT_VCARD:
        return parse_vcards(path)
    if fmt == FORMAT_GOOGLE_CSV:
        return parse_google_csv(path)
    if fmt == FORMAT_LINKEDIN_CONNECTIONS:
        return parse_connections_csv(path)
    if fmt == FORMAT_LINKEDIN_MESSAGES:
        return parse_messages_csv(path, own_name=owner.full_name or "")
    if fmt == FORMAT_TWITTER_ARCHIVE:
        return parse_twitter_archive(path)
    raise UnknownFormat(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
