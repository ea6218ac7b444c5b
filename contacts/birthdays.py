"""Birthday values: parsing the many ways sources write them, and storage.

A birthday is a month and a day, with a year when the source knows it. It
is stored in a real date column; a birthday without a year is stored in
``PLACEHOLDER_YEAR`` with ``birthday_year_known = False`` (the convention
Apple's ``X-APPLE-OMIT-YEAR=1604`` uses). 1604 is a leap year, so Feb 29
without a year is storable. A birthday is always a calendar date and is
never shifted by a time zone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

PLACEHOLDER_YEAR = 1604

_API_FULL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_API_NO_YEAR = re.compile(r"^(\d{2})-(\d{2})$")

# Lenient shapes seen in exports, tried in order. Each yields year (or
# None), month, day. Anything with a time part is cut to its date: the date
# a person was born does not move with the time zone it was written in.
_LENIENT = (
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?:[T ].*)?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:T.*)?$"),
    re.compile(r"^--(?P<m>\d{2})-?(?P<d>\d{2})$"),
    re.compile(r"^(?P<m>\d{2})-(?P<d>\d{2})$"),
    re.compile(r"^(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})$"),
)


class BirthdayError(ValueError):
    """A birthday string that has a date's shape but is not a real date."""


@dataclass(frozen=True)
class Birthday:
    month: int
    day: int
    year: int | None = None

    def __post_init__(self) -> None:
        check_year = self.year if self.year is not None else PLACEHOLDER_YEAR
        if not 1 <= self.month <= 12:
            raise BirthdayError(f"month {self.month} is not between 1 and 12")
        last_day = calendar.monthrange(check_year, self.month)[1]
        if not 1 <= self.day <= last_day:
            if self.year is not None and self.month == 2 and self.day == 29:
                raise BirthdayError(f"{self.year} is not a leap year")
            raise BirthdayError(f"day {self.day} does not exist in month {self.month}")
        if self.year is not None and not 1 <= self.year <= 9999:
            raise BirthdayError(f"year {self.year} is out of range")

    @classmethod
    def from_api(cls, value: str) -> Birthday:
        """Parse the API's strict ``YYYY-MM-DD`` or ``MM-DD`` form."""
        value = value.strip()
        if match := _API_FULL.match(value):
            year, month, day = (int(part) for part in match.groups())
            return cls(month=month, day=day, year=year)
        if match := _API_NO_YEAR.match(value):
            month, day = (int(part) for part in match.groups())
            return cls(month=month, day=day)
        raise BirthdayError("use YYYY-MM-DD, or MM-DD when the year is unknown")

    @classmethod
    def from_storage(cls, date: dt.date, year_known: bool) -> Birthday:
        return cls(
            month=date.month, day=date.day, year=date.year if year_known else None
        )

    def to_date(self) -> dt.date:
        """Return the value for the date column (placeholder year if unknown)."""
        year = self.year if self.year is not None else PLACEHOLDER_YEAR
        return dt.date(year, self.month, self.day)

    def to_api(self) -> str:
        if self.year is None:
            return f"{self.month:02d}-{self.day:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def parse_birthday(text: str) -> Birthday | None:
    """Read a birthday as an export writes it; None when it is not a date.

    Returns None for free text ("mid-June", "circa 1800") and for values
    with no month or day (a year alone), so the caller can keep the text.
    Raises BirthdayError for a date-shaped value that does not exist
    (``1990-02-30``), so an import can report it.
    """
    value = (text or "").strip()
    for pattern in _LENIENT:
        match = pattern.match(value)
        if not match:
            continue
        parts = match.groupdict()
        month, day = int(parts["m"]), int(parts["d"])
        year = int(parts["y"]) if parts.get("y") else None
        if month == 0 or day == 0:
            return None
        return Birthday(month=month, day=day, year=year)
    return None
