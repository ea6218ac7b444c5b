"""Write a statement and its parameters as one SQL text, secrets masked.

silk shows a statement with its values put in (``sql % params``, each
value as ``str()``), so the token lookup of every API request used to
store the caller's token. Here a value is masked when the column it is
compared with, set to or inserted into matches SILKY_SENSITIVE_KEYS, the
same test silk applies to the keys of a JSON body.
"""

from __future__ import annotations

import re
from functools import lru_cache

from silk.model_factory import RequestModelFactory

MASK = RequestModelFactory.CLEANSED_SUBSTITUTE
# Longer values (a pushed note, a JSON blob) are cut: the text is for
# reading, and a bulk insert of a thousand rows would otherwise store them all.
MAX_VALUE_CHARS = 200

_TOKEN = re.compile(r"%%|%s")
_INSERT_COLUMNS = re.compile(r"^\s*INSERT\s+INTO\s+\S+\s*\(([^)]*)\)", re.IGNORECASE)
_QUOTED_NAME = re.compile(r'["`]([^"`]+)["`]')
_BARE_NAME_BEFORE_OPERATOR = re.compile(
    r"([A-Za-z_][\w.]*)\s*(?:=|<>|!=|<=|>=|<|>|\bI?LIKE\b|\bIN\s*\()\s*\(?\s*$",
    re.IGNORECASE,
)


def _shown(value: object) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        return f"{text[:MAX_VALUE_CHARS]}…({len(text)} chars)"
    return text


def _insert_columns(sql: str) -> tuple[list[str], int] | None:
    match = _INSERT_COLUMNS.match(sql)
    if match is None:
        return None
    names = [name.strip().strip('"`') for name in match.group(1).split(",")]
    return names, match.end()


def _column_before(text: str) -> str | None:
    """Return the column a placeholder after ``text`` belongs to, if it names one."""
    quoted = _QUOTED_NAME.findall(text)
    if quoted:
        return quoted[-1]
    bare = _BARE_NAME_BEFORE_OPERATOR.search(text)
    return bare.group(1).rsplit(".", 1)[-1] if bare else None


# Statements longer than this (bulk inserts and updates) are planned every
# time rather than kept.
_MAX_PLANNED_CHARS = 20_000
_Plan = tuple[tuple[str, ...], tuple[bool, ...]]


def _plan(sql: str, sensitive: re.Pattern | None) -> _Plan:
    """Return the texts around the placeholders and which values to mask."""
    insert = _insert_columns(sql)
    checks = sensitive is not None and sensitive.search(sql) is not None
    texts: list[str] = []
    masks: list[bool] = []
    pending: list[str] = []
    column = None
    position = 0
    for match in _TOKEN.finditer(sql):
        between = sql[position : match.start()]
        pending.append(between)
        position = match.end()
        if match.group() == "%%":
            pending.append("%")
            continue
        if checks:
            if insert is not None and match.start() >= insert[1]:
                names = insert[0]
                column = names[len(masks) % len(names)]
            else:
                column = _column_before(between) or column
        texts.append("".join(pending))
        pending = []
        masks.append(checks and column is not None and bool(sensitive.search(column)))
    pending.append(sql[position:])
    texts.append("".join(pending))
    return tuple(texts), tuple(masks)


_cached_plan = lru_cache(maxsize=512)(_plan)


def sql_text(sql: str, params: object, sensitive: re.Pattern | None) -> str:
    """Return ``sql`` with ``params`` put in, sensitive columns' values masked.

    Named (dict) parameters and a text whose placeholders do not match its
    parameters keep their placeholders and get no values at all.
    """
    if params is None or not isinstance(params, list | tuple):
        return sql
    plan = _cached_plan if len(sql) <= _MAX_PLANNED_CHARS else _plan
    texts, masks = plan(sql, sensitive)
    if len(masks) != len(params):
        return sql
    parts = [texts[0]]
    for text, masked, value in zip(texts[1:], masks, params, strict=True):
        parts.append(MASK if masked else _shown(value))
        parts.append(text)
    return "".join(parts)
