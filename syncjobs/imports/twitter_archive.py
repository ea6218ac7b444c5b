"""Read the direct messages of an X data archive ("Download your data").

Accepts the archive folder, a .zip of it, or a single ``direct-messages.js``
/ ``direct-messages-group.js`` file. Each message becomes an interaction
with the same ``twitter_dm:{id}`` key the API sync uses, so importing an
archive and syncing the account never count a message twice.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from syncjobs.records import (
    INBOUND,
    OUTBOUND,
    InteractionRecord,
    ParseResult,
    Participant,
    RecordProblem,
)

PREVIEW_LENGTH = 500

# Big archives split a data file into direct-messages-part1.js and so on.
_DM_FILE = re.compile(r"^direct-messages(-group)?(-part\d+)?\.js$")
_ACCOUNT_FILE = re.compile(r"^account(-part\d+)?\.js$")
# Each data file is a JavaScript assignment: window.YTD.<name>.part<N> = [...]
_YTD_PREFIX = re.compile(r"^\s*window\.YTD\.\w+\.part\d+\s*=\s*")
_MEMBERSHIP_EVENTS = ("joinConversation", "participantsJoin", "participantsLeave")


@dataclass(frozen=True)
class _DataFile:
    name: str
    text: str


def parse_twitter_archive(path: str | Path) -> ParseResult:
    """Return one interaction per DM in the archive at ``path``.

    1. Read ``account.js`` for the owner's id; without it, take the id that
       every conversation names (in its "a-b" id or its group snapshot),
       and warn.
    2. For each conversation, replay joins and leaves to know who was in a
       group when each message was sent.
    3. Turn each ``messageCreate`` into interactions: a message the owner
       received is with its sender; one the owner sent is with the
       recipient, or in a group with every other member at that time.
    Reactions, joins and leaves are read but are not interactions.
    """
    result = ParseResult()
    path = Path(path)
    try:
        dm_files, account_files = _data_files(path)
    # zlib.error, EOFError: a damaged or cut member; NotImplementedError,
    # RuntimeError: a compression method or encryption zipfile cannot read.
    except (
        OSError,
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        RuntimeError,
    ) as exc:
        result.errors.append(
            RecordProblem(path.name, f"cannot read the archive: {exc}")
        )
        return result
    if not dm_files:
        result.errors.append(
            RecordProblem(
                path.name, "no direct-messages.js or direct-messages-group.js"
            )
        )
        return result

    conversations: list[dict] = []
    for data_file in dm_files:
        entries = _load(data_file, result=result)
        for number, entry in enumerate(entries, start=1):
            conversation = (
                entry.get("dmConversation") if isinstance(entry, dict) else None
            )
            if not isinstance(conversation, dict):
                result.errors.append(
                    RecordProblem(
                        f"{data_file.name} entry #{number}", "not a dmConversation"
                    )
                )
                continue
            conversations.append(conversation)

    owner = _owner_from_account(account_files, result=result)
    if not owner:
        owner = _owner_from_conversation_ids(conversations, result=result)
    if not owner:
        return result

    for conversation in conversations:
        _read_conversation(conversation, owner=owner, result=result)
    return result


def _data_files(path: Path) -> tuple[list[_DataFile], list[_DataFile]]:
    """Return the DM data files and account files found at ``path``."""
    if path.is_dir():
        # The downloaded archive keeps its data files under data/.
        candidates = [p for p in (path, path / "data") if p.is_dir()]
        files = [
            _DataFile(p.name, _decode(p.read_bytes()))
            for folder in candidates
            for p in sorted(folder.iterdir())
            if p.is_file() and (_DM_FILE.match(p.name) or _ACCOUNT_FILE.match(p.name))
        ]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            files = [
                _DataFile(
                    Path(info.filename).name,
                    _decode(archive.read(info)),
                )
                for info in sorted(archive.infolist(), key=lambda i: i.filename)
                if not info.is_dir()
                and (
                    _DM_FILE.match(Path(info.filename).name)
                    or _ACCOUNT_FILE.match(Path(info.filename).name)
                )
            ]
    else:
        files = [_DataFile(path.name, _decode(path.read_bytes()))]
        # A lone data file still knows its owner if account.js sits beside it.
        sibling = path.with_name("account.js")
        if sibling.is_file() and sibling != path:
            files.append(_DataFile(sibling.name, _decode(sibling.read_bytes())))
    dm_files = [f for f in files if not _ACCOUNT_FILE.match(f.name)]
    account_files = [f for f in files if _ACCOUNT_FILE.match(f.name)]
    return dm_files, account_files


def _decode(raw: bytes) -> str:
    # X writes UTF-8. A damaged byte becomes U+FFFD rather than failing the
    # whole archive; the JSON parse then tells whether the file still reads.
    return raw.decode("utf-8-sig", errors="replace")


def _load(data_file: _DataFile, *, result: ParseResult) -> list:
    """Return the JSON array of one data file, or [] with an error."""
    body = _YTD_PREFIX.sub("", data_file.text, count=1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        result.errors.append(
            RecordProblem(
                data_file.name, f"not a YTD data file: {exc.msg} at line {exc.lineno}"
            )
        )
        return []
    if not isinstance(data, list):
        result.errors.append(RecordProblem(data_file.name, "data is not a JSON array"))
        return []
    return data


def _owner_from_account(files: Iterable[_DataFile], *, result: ParseResult) -> str:
    for data_file in files:
        for entry in _load(data_file, result=result):
            account = entry.get("account") if isinstance(entry, dict) else None
            if isinstance(account, dict) and _is_id(str(account.get("accountId", ""))):
                return str(account["accountId"])
    return ""


def _owner_from_conversation_ids(
    conversations: list[dict], *, result: ParseResult
) -> str:
    """Return the one id every conversation names, or "" with an error.

    A one-to-one conversation is named "<id>-<id>"; a group conversation
    names its members in the joinConversation snapshot taken when the
    owner was added. Only the owner is in all of them.
    """
    common: set[str] | None = None
    for conversation in conversations:
        named = _ids_naming_owner(conversation)
        if named:
            common = named if common is None else common & named
    if common is not None and len(common) == 1:
        owner = common.pop()
        result.warnings.append(
            RecordProblem(
                "account.js",
                f"no account.js; took {owner} as the owner because every "
                "conversation id or group snapshot contains it",
            )
        )
        return owner
    result.errors.append(
        RecordProblem(
            "account.js",
            "no account.js and the conversations do not single out the owner; "
            "add account.js from the same archive",
        )
    )
    return ""


def _ids_naming_owner(conversation: dict) -> set[str]:
    halves = str(conversation.get("conversationId", "")).split("-")
    if len(halves) == 2:
        return set(halves)
    snapshot: set[str] = set()
    for entry in _as_list(conversation.get("messages")):
        join = entry.get("joinConversation") if isinstance(entry, dict) else None
        if isinstance(join, dict):
            snapshot |= {str(i) for i in _as_list(join.get("participantsSnapshot"))}
    return snapshot


def _read_conversation(conversation: dict, *, owner: str, result: ParseResult) -> None:
    conversation_id = str(conversation.get("conversationId", "?"))
    entries = conversation.get("messages")
    if not isinstance(entries, list):
        result.errors.append(
            RecordProblem(f"conversation {conversation_id}", "has no messages list")
        )
        return
    one_to_one = conversation_id.split("-") if "-" in conversation_id else []
    members = _Membership(entries)

    for number, entry in enumerate(entries, start=1):
        position = f"conversation {conversation_id} message #{number}"
        result.items_read += 1
        if not isinstance(entry, dict):
            result.errors.append(RecordProblem(position, "not a JSON object"))
            continue
        message = entry.get("messageCreate")
        if message is None:
            # Joins, leaves and reactions say nothing was exchanged.
            continue
        _read_message(
            message,
            owner=owner,
            one_to_one=one_to_one,
            members=members,
            position=position,
            result=result,
        )


def _read_message(
    message: object,
    *,
    owner: str,
    one_to_one: list[str],
    members: _Membership,
    position: str,
    result: ParseResult,
) -> None:
    if not isinstance(message, dict):
        result.errors.append(RecordProblem(position, "messageCreate is not an object"))
        return
    message_id = str(message.get("id", ""))
    sender = str(message.get("senderId", ""))
    missing = [
        name
        for name, value in (("id", message_id), ("senderId", sender))
        if not _is_id(value)
    ]
    if missing:
        result.errors.append(RecordProblem(position, f"no {' or '.join(missing)}"))
        return
    occurred_at = _timestamp(message.get("createdAt"))
    if occurred_at is None:
        result.errors.append(
            RecordProblem(
                position, f"unreadable createdAt {message.get('createdAt')!r}"
            )
        )
        return

    direction = OUTBOUND if sender == owner else INBOUND
    recipient = str(message.get("recipientId", ""))
    text = str(message.get("text") or "")[:PREVIEW_LENGTH]

    # A received message is with its sender, whatever the conversation,
    # which is also the one counterpart the API sync gives it.
    if direction == INBOUND:
        counterparts = [sender]
    elif recipient and recipient != owner:
        counterparts = [recipient]
    elif len(one_to_one) == 2 and owner in one_to_one:
        counterparts = [half for half in one_to_one if half != owner]
    else:
        counterparts = sorted(members.at(occurred_at) - {owner}, key=int)
    if not counterparts:
        result.errors.append(
            RecordProblem(position, "sent by the owner to nobody the archive names")
        )
        return

    # per_contact=False needs one participant per record, so a group
    # message the owner sent becomes one record per member, each keyed on
    # its own. Only these outbound group messages get the longer key: the
    # API sync cannot place them, so nothing there shares their key.
    several = len(counterparts) > 1
    for counterpart in counterparts:
        result.interactions.append(
            InteractionRecord(
                platform="twitter",
                direction=direction,
                occurred_at=occurred_at,
                reference_id=(
                    f"twitter_dm:{message_id}:{counterpart}"
                    if several
                    else f"twitter_dm:{message_id}"
                ),
                position=position,
                participants=(Participant(twitter_user_id=counterpart),),
                content_preview=text,
                per_contact=False,
            )
        )


class _Membership:
    """Who was in a group conversation at a given moment.

    Built from the conversation's joinConversation snapshot (the members
    when the owner was added), participantsJoin and participantsLeave.
    Senders count as members from their first message on.
    """

    def __init__(self, entries: list):
        self._changes: list[tuple[dt.datetime, str, frozenset[str]]] = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for kind in (*_MEMBERSHIP_EVENTS, "messageCreate"):
                event = entry.get(kind)
                if not isinstance(event, dict):
                    continue
                when = _timestamp(event.get("createdAt"))
                if when is None:
                    continue
                if kind == "joinConversation":
                    ids = _as_list(event.get("participantsSnapshot"))
                elif kind == "messageCreate":
                    ids = [event.get("senderId")]
                else:
                    ids = _as_list(event.get("userIds"))
                change = "leave" if kind == "participantsLeave" else "join"
                members = frozenset(str(i) for i in ids if _is_id(str(i)))
                self._changes.append((when, change, members))
        # Archives list entries newest first; replay them oldest first.
        self._changes.sort(key=lambda change: change[0])

    def at(self, moment: dt.datetime) -> set[str]:
        members: set[str] = set()
        for when, change, ids in self._changes:
            if when > moment:
                break
            if change == "join":
                members |= ids
            else:
                members -= ids
        return members


def _timestamp(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # Archive timestamps end in "Z"; a bare one is taken as UTC too.
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        # Year 1 or 9999 pushed past the calendar's end by the offset.
        return None


def _as_list(value: object) -> list:
    """Return ``value`` if it is a JSON array, else [] (a damaged file)."""
    return value if isinstance(value, list) else []


def _is_id(value: str) -> bool:
    # ASCII only: str.isdigit() also takes "²", which int() refuses.
    return value.isascii() and value.isdigit()
