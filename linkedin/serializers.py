"""Validate a push body from the browser extension into plain push records.

The wire format is the original's (profiles and messages, unknown keys
ignored). What the original let through and we reject with a 400 naming
the item and field ("messages[3].timestamp: not an ISO-8601 time"):

- a profile with neither ``profile_id`` nor a person-profile ``profile_url``
  (a company or school page without a profile id is not a person);
- a message with neither ``profile_id`` nor ``profile_name`` (the original
  rejected a null id even with a name, and stubbed a nameless contact for
  an empty one);
- a ``timestamp`` that is not ISO-8601 (the original stored "now");
- a ``direction`` other than inbound/outbound (the original stored inbound);
- an ``avatar_data`` that is not a base64 PNG/JPEG/GIF/WebP image of at most
  5,000,000 bytes, judged by its bytes (the original wrote anything);
- ids and keys longer than their columns.

A timestamp without an offset is read as UTC (the original crashed with a
500 on it when the contact already had an aware last-interaction time).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.fields import empty
from rest_framework.settings import api_settings
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from linkedin.avatars import AvatarError, AvatarImage, avatar_from_data_uri
from linkedin.profile_urls import normalise_profile_url, profile_url_key_of_id

MAX_PROFILES = 50
MAX_MESSAGES = 500
DIRECTIONS = ("inbound", "outbound")

# Column sizes the values must fit (contacts.Contact, contacts.Interaction).
# The dedup key "linkedin:<conversation>:<hash or timestamp>" stays within
# raw_reference_id's 500 characters with these limits.
PROFILE_ID_MAX = 200
CONVERSATION_ID_MAX = 200
CONTENT_HASH_MAX = 200
TIMESTAMP_MAX = 64
PROFILE_URL_MAX = 2000

_TEXT_ERRORS = {
    "invalid": "must be a string",
    "blank": "may not be empty",
    "null": "may not be null",
    "required": "required",
    "max_length": "longer than {max_length} characters",
}
_OBJECT_ERRORS = {
    "invalid": "must be an object, got {datatype}",
    "null": "must be an object, got null",
}
_LIST_ERRORS = {"not_a_list": "must be a list, got {input_type}"}


_SURROGATE = re.compile("[\ud800-\udfff]")


class _SurrogateCheck(ProhibitSurrogateCharactersValidator):
    """DRF's check, with its message, as one regex search.

    DRF's own runs a Python generator over every character of every
    string: 3 of the 21 ms a 550-item push spent validating.
    """

    def __call__(self, value) -> None:
        found = _SURROGATE.search(str(value))
        if found:
            message = self.message.format(code_point=ord(found.group()))
            raise ValidationError(message, code=self.code)


class TextField(serializers.CharField):
    """A CharField that passes a plain valid string through in one step.

    Every other value (not a str, blank, too long, with a NUL or a
    surrogate) takes DRF's own path, so its error is DRF's.
    """

    def __init__(self, **kwargs) -> None:
        # Only the checks CharField adds itself, which the shortcut repeats.
        self._shortcut = not kwargs.get("validators") and "min_length" not in kwargs
        super().__init__(**kwargs)
        self._shortcut = self._shortcut and self.trim_whitespace
        self.validators = [
            _SurrogateCheck()
            if isinstance(check, ProhibitSurrogateCharactersValidator)
            else check
            for check in self.validators
        ]

    def run_validation(self, data=empty):
        # What CharField.run_validation returns for such a string, without
        # its generic steps: a push validates thousands of strings.
        if self._shortcut and type(data) is str:
            value = data.strip()
            if (
                value
                and (self.max_length is None or len(value) <= self.max_length)
                and "\x00" not in value
                and not _SURROGATE.search(value)
            ):
                return value
        return super().run_validation(data)


def _optional_text(*, max_length: int | None = None) -> serializers.CharField:
    """Return an optional string field; null, blank and absent all mean ""."""
    return TextField(
        required=False,
        allow_null=True,
        allow_blank=True,
        default=None,
        max_length=max_length,
        error_messages=_TEXT_ERRORS,
    )


def parse_timestamp(value: str) -> dt.datetime:
    """Return the aware time of an ISO-8601 string; no offset means UTC.

    Raise ValueError for anything else (epoch numbers included).
    """
    moment = dt.datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        # Stored in UTC: year 1 or 9999 pushed past the calendar's end by
        # the offset cannot be stored (it was a 500).
        moment.astimezone(dt.UTC)
    except OverflowError:
        raise TimestampOutOfRange("outside the years 1 to 9999 in UTC") from None
    return moment


class TimestampOutOfRange(ValueError):
    """An ISO-8601 time that has no UTC equivalent in the calendar."""


@dataclass(frozen=True)
class PushProfile:
    position: int
    profile_id: str
    # The canonical person-profile URL, "" when none was sent.
    url_key: str
    # The canonical URL of /in/<profile_id>, "" when that is not one.
    id_url_key: str
    full_name: str
    headline: str
    company: str
    location: str
    about: str
    avatar: AvatarImage | None


@dataclass(frozen=True)
class PushMessage:
    position: int
    profile_id: str
    # The canonical URL of /in/<profile_id>, "" when that is not one.
    id_url_key: str
    profile_name: str
    direction: str
    content_preview: str
    # As sent: it is part of the dedup key when there is no content hash.
    timestamp: str
    occurred_at: dt.datetime
    conversation_id: str
    content_hash: str


@dataclass(frozen=True)
class PushPayload:
    profiles: tuple[PushProfile, ...]
    messages: tuple[PushMessage, ...]


class _ItemSerializer(serializers.Serializer):
    """An item of the profiles or messages list: an object, never null."""

    @classmethod
    def many_init(cls, *args, **kwargs):
        # DRF hands allow_null to the child too, which let a null item
        # through validation and crash the push with a 500; here null is
        # allowed for the list only.
        return serializers.ListSerializer(*args, child=cls(), **kwargs)

    @cached_property
    def _writable_fields(self) -> list[serializers.Field]:
        # DRF's walks its field mapping again for each of up to 500 items.
        return [field for field in self.fields.values() if not field.read_only]


class ProfileSerializer(_ItemSerializer):
    profile_id = _optional_text(max_length=PROFILE_ID_MAX)
    profile_url = _optional_text(max_length=PROFILE_URL_MAX)
    full_name = _optional_text()
    headline = _optional_text()
    company = _optional_text()
    location = _optional_text()
    about = _optional_text()
    # Accepted for wire compatibility and ignored: the server never fetches it.
    avatar_url = _optional_text()
    avatar_data = _optional_text()

    default_error_messages = _OBJECT_ERRORS

    def validate_avatar_data(self, value: str | None) -> AvatarImage | None:
        if not value:
            return None
        try:
            return avatar_from_data_uri(value)
        except AvatarError as exc:
            raise ValidationError(str(exc)) from None

    def validate(self, attrs: dict) -> dict:
        profile_id = attrs.get("profile_id") or ""
        url = attrs.get("profile_url") or ""
        url_key = normalise_profile_url(url)
        if not profile_id and not url:
            raise ValidationError(
                {"profile_id": "a profile needs profile_id or profile_url"}
            )
        if url and not url_key and not profile_id:
            raise ValidationError({"profile_url": "not a LinkedIn person-profile URL"})
        attrs["url_key"] = url_key
        return attrs


class MessageSerializer(_ItemSerializer):
    profile_id = _optional_text(max_length=PROFILE_ID_MAX)
    profile_name = _optional_text()
    direction = TextField(error_messages=_TEXT_ERRORS)
    content_preview = _optional_text()
    timestamp = TextField(max_length=TIMESTAMP_MAX, error_messages=_TEXT_ERRORS)
    # Required as in the original; an empty string is allowed there too.
    conversation_id = TextField(
        max_length=CONVERSATION_ID_MAX, allow_blank=True, error_messages=_TEXT_ERRORS
    )
    content_hash = _optional_text(max_length=CONTENT_HASH_MAX)

    default_error_messages = _OBJECT_ERRORS

    def validate_direction(self, value: str) -> str:
        if value not in DIRECTIONS:
            raise ValidationError(f"must be inbound or outbound, got {value!r}")
        return value

    def validate_timestamp(self, value: str) -> str:
        try:
            parse_timestamp(value)
        except TimestampOutOfRange as exc:
            raise ValidationError(str(exc)) from None
        except ValueError:
            raise ValidationError("not an ISO-8601 time") from None
        return value

    def validate(self, attrs: dict) -> dict:
        if not attrs.get("profile_id") and not attrs.get("profile_name"):
            raise ValidationError({"profile_id": "required when profile_name is empty"})
        attrs["occurred_at"] = parse_timestamp(attrs["timestamp"])
        return attrs


class PushSerializer(serializers.Serializer):
    profiles = ProfileSerializer(
        many=True, required=False, allow_null=True, error_messages=_LIST_ERRORS
    )
    messages = MessageSerializer(
        many=True, required=False, allow_null=True, error_messages=_LIST_ERRORS
    )

    default_error_messages = {"invalid": "must be a JSON object, got {datatype}"}

    @cached_property
    def fields(self):
        # DRF deep-copies every declared field, the item serializers' too,
        # for each serializer it makes: 60% of validating a small push. No
        # field is changed while validating (the root is never partial and
        # never has a context), so every push shares one set.
        return _shared_push_fields()

    def to_internal_value(self, data):
        # Refuse an oversized list before validating its items one by one.
        if isinstance(data, dict):
            errors = {}
            for name, limit in (("profiles", MAX_PROFILES), ("messages", MAX_MESSAGES)):
                items = data.get(name)
                if isinstance(items, list) and len(items) > limit:
                    errors[name] = [f"at most {limit} items, got {len(items)}"]
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)


@functools.cache
def _shared_push_fields():
    """Return PushSerializer's bound fields, built once per process."""
    fields = serializers.Serializer.fields.func(PushSerializer())
    for field in fields.values():
        # Built now rather than by the first pushes, possibly at once.
        field.child._writable_fields  # noqa: B018
    return fields


def _error_paths(detail, path: str) -> Iterator[tuple[str, list[str]]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                yield from _error_paths(value, path)
            elif isinstance(key, int):
                # DRF keys a list's item errors by index.
                yield from _error_paths(value, f"{path}[{key}]")
            else:
                yield from _error_paths(value, f"{path}.{key}" if path else key)
    elif isinstance(detail, list) and all(isinstance(d, str) for d in detail):
        if detail:
            yield path or "body", [str(d) for d in detail]
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            yield from _error_paths(item, f"{path}[{index}]")
    elif isinstance(detail, (str, ErrorDetail)):
        yield path or "body", [str(detail)]


def flat_errors(detail) -> dict[str, list[str]]:
    """Return DRF's nested errors keyed by item path ("messages[3].timestamp")."""
    return dict(_error_paths(detail, ""))


def push_payload_from_data(data) -> PushPayload:
    """Validate a decoded JSON push body; raise ValidationError with item paths."""
    serializer = PushSerializer(data=data)
    if not serializer.is_valid():
        raise ValidationError(flat_errors(serializer.errors))
    valid = serializer.validated_data
    # A sender's id recurs in each of their messages: normalised once.
    id_url_keys: dict[str, str] = {}

    def id_url_key(item: dict) -> str:
        profile_id = item.get("profile_id") or ""
        if profile_id not in id_url_keys:
            id_url_keys[profile_id] = profile_url_key_of_id(profile_id)
        return id_url_keys[profile_id]

    profiles = tuple(
        PushProfile(
            position=index,
            profile_id=item.get("profile_id") or "",
            url_key=item["url_key"],
            id_url_key=id_url_key(item),
            full_name=(item.get("full_name") or "").strip(),
            headline=(item.get("headline") or "").strip(),
            company=(item.get("company") or "").strip(),
            location=(item.get("location") or "").strip(),
            about=(item.get("about") or "").strip(),
            avatar=item.get("avatar_data"),
        )
        for index, item in enumerate(valid.get("profiles") or [])
    )
    messages = tuple(
        PushMessage(
            position=index,
            profile_id=item.get("profile_id") or "",
            id_url_key=id_url_key(item),
            profile_name=(item.get("profile_name") or "").strip(),
            direction=item["direction"],
            content_preview=item.get("content_preview") or "",
            timestamp=item["timestamp"],
            occurred_at=item["occurred_at"],
            conversation_id=item["conversation_id"],
            content_hash=item.get("content_hash") or "",
        )
        for index, item in enumerate(valid.get("messages") or [])
    )
    return PushPayload(profiles=profiles, messages=messages)
