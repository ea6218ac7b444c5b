"""Seed the benchmark's deterministic datasets with bulk inserts.

Two users: the benchmark user owns ``size`` contacts; a second user owns a
tenth as many, shaped to tempt every query (birthdays this week, long
overdue), so any result that leaks across owners shows. Both are found by
their fixed e-mail addresses and nothing else is ever read or deleted.

Every value comes from a ``random.Random`` seeded by role and size, so the
same size gives the same contacts, interactions and ids on every run;
times are offsets from the ``now`` the seed is given. Stored scores, counts
and last-interaction times are computed here with the product's formula
(``contacts.scoring.score_breakdown``), so the data starts consistent.

Names are ASCII letters, capitalised, and no first name is a prefix of
another, so Python's sort of names agrees with the SQL collations (byte
order and the usual language ones alike) and the before paths can sort
ties exactly as the database does.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models.fields import AutoFieldMixin
from rest_framework.authtoken.models import Token

from contacts.birthdays import PLACEHOLDER_YEAR
from contacts.models import (
    DEFAULT_THRESHOLDS,
    LEAP_DAY_FEB28,
    PRIORITY_ARCHIVED,
    PRIORITY_HIGH,
    PRIORITY_LOW,
    PRIORITY_MEDIUM,
    Contact,
    ContactEmail,
    ContactTag,
    Interaction,
    User,
)
from contacts.scoring import ScoreInputs, score_breakdown
from linkedin.profile_urls import normalise_profile_url

logger = logging.getLogger(__name__)

SIZES = {"small": 1_000, "medium": 10_000, "large": 100_000}
MAIN_EMAIL = "benchmark-main@benchmark.invalid"
OTHER_EMAIL = "benchmark-other@benchmark.invalid"
# Bump when the generator changes, so --reuse-data never reuses stale data.
DATASET_VERSION = 1
OTHER_USER_SHARE = 10

CHUNK = 5_000
BATCH_SIZE = 5_000
HISTORY_DAYS = 1_820

FIRST_NAMES = (
    "Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro",
    "Ines", "Jonas", "Kasia", "Luca", "Mira", "Nadia", "Oscar", "Priya", "Quinn",
    "Rosa", "Sven", "Tariq", "Ursula", "Viktor", "Wanda", "Xavier", "Yara",
    "Zoltan", "Amara", "Bjorn", "Carmen", "Diego", "Esme", "Felix", "Giulia",
    "Hannah", "Ivo", "Jana", "Kofi", "Lena", "Mateo", "Noor",
)  # fmt: skip
LAST_NAMES = (
    "Abbott", "Baker", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia",
    "Horvat", "Ivanova", "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura",
    "Okafor", "Petrov", "Quiroga", "Rossi", "Schmidt", "Tanaka", "Umarov", "Varga",
    "Weber", "Xu", "Yilmaz", "Zhang", "Almeida", "Brennan", "Costa", "Dimitrov",
    "Esposito", "Ferrari", "Gruber", "Haddad", "Ibrahim", "Jovanovic", "Kim",
    "Larsen", "Meyer", "Novak", "Olsen", "Park", "Reyes", "Silva", "Torres",
    "Vogel", "Wagner", "Young", "Zimmer",
)  # fmt: skip
# Every UNIQUE_NAME_EVERY-th contact gets a name nobody else has and no
# LinkedIn fields: the push benchmark matches messages to them by name.
UNIQUE_NAME_EVERY = 25
# Endings that make about 1,200 family names out of LAST_NAMES, so that at
# 100,000 contacts a full name is shared by a few people, not by fifty.
# (A last name may be a prefix of another: nothing follows it in a name, so
# every collation sorts the shorter first.)
LAST_NAME_ENDINGS = (
    "", "son", "berg", "ova", "ski", "er", "man", "ley", "ton", "field", "wood",
    "ford", "ini", "elli", "ez", "ic", "ek", "sen", "dal", "stad", "quist",
    "hart", "well", "more", "by",
)  # fmt: skip
UNIQUE_NAME_PREFIX = "Uniq"
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne")
TITLES = ("Engineer", "Designer", "Founder", "Manager", "Analyst", "Recruiter")
TAGS = ("friend", "work", "family", "investor", "conference", "climbing", "book club")
SOURCES = ("google", "csv", "linkedin", "manual", "twitter")
PLATFORMS = (
    ("email", 45),
    ("linkedin", 15),
    ("telegram", 15),
    ("twitter", 10),
    ("meeting", 15),
)
PRIORITIES = (
    (PRIORITY_HIGH, 15),
    (PRIORITY_MEDIUM, 45),
    (PRIORITY_LOW, 30),
    (PRIORITY_ARCHIVED, 10),
)
LEAP_YEARS = [year for year in range(1952, 2005) if calendar.isleap(year)]


@dataclass(frozen=True)
class SeedSummary:
    size: int
    contacts: int
    interactions: int
    emails: int
    other_contacts: int
    seconds: float
    reused: bool = False


def benchmark_users() -> tuple[User, User]:
    """Return (main, other) benchmark users, creating them if needed."""
    users = []
    for email, name in (
        (MAIN_EMAIL, "Benchmark main"),
        (OTHER_EMAIL, "Benchmark other"),
    ):
        user, created = User.objects.get_or_create(
            email=email, defaults={"username": email, "full_name": name}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    Token.objects.get_or_create(user=users[0])
    return users[0], users[1]


def _dataset_marker(size: int) -> str:
    return f"benchmark:v{DATASET_VERSION}:{size}"


def dataset_present(*, size: int) -> bool:
    """Tell whether the benchmark user already holds this size's dataset."""
    main = User.objects.filter(email=MAIN_EMAIL).first()
    return bool(
        main
        and main.full_name == _dataset_marker(size)
        and Contact.objects.filter(owner=main).count() == size
    )


def benchmark_data_clear(*, users: list[User]) -> None:
    """Delete every contact (and what hangs off it) of the benchmark users.

    Rows that hang off a contact go first with one DELETE per table; the
    contacts then go with a raw DELETE, because Django's cascading delete
    would load 100,000 contacts into memory to look for dependents that
    are already gone.
    """
    with transaction.atomic():
        for relation in Contact._meta.related_objects:
            model = relation.related_model
            # Filtering on the row's own owner column avoids a join per row.
            owned = any(f.name == "owner" for f in model._meta.concrete_fields)
            lookup = "owner__in" if owned else f"{relation.field.name}__owner__in"
            model._base_manager.filter(**{lookup: users}).delete()
        contacts = Contact._base_manager.filter(owner__in=users)
        contacts._raw_delete(contacts.db)


def _refresh_user(user: User, *, marker: str) -> None:
    """Put the user's settings back to the defaults both paths assume."""
    user.full_name = marker
    user.time_zone = "UTC"
    user.priority_high_days = DEFAULT_THRESHOLDS[PRIORITY_HIGH]
    user.priority_medium_days = DEFAULT_THRESHOLDS[PRIORITY_MEDIUM]
    user.priority_low_days = DEFAULT_THRESHOLDS[PRIORITY_LOW]
    user.leap_day_birthdays_on = LEAP_DAY_FEB28
    user.is_active = True
    user.save()


def _weighted(rng: random.Random, choices) -> str:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights)[0]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _letters(number: int, width: int = 5) -> str:
    text = ""
    for _ in range(width):
        number, digit = divmod(number, 26)
        text = chr(ord("a") + digit) + text
    return text


def _birthday(
    rng: random.Random, *, index: int, today: dt.date, tempting: bool
) -> tuple[dt.date, bool]:
    """Return (stored date, year known) for one contact's birthday."""
    if tempting:
        day = today + dt.timedelta(days=rng.randrange(7))
        month, mday = day.month, day.day
    elif index % 250 == 0:
        month, mday = 2, 29
    else:
        ordinal = rng.randrange(366)
        day = dt.date(PLACEHOLDER_YEAR, 1, 1) + dt.timedelta(days=ordinal)
        month, mday = day.month, day.day
    if rng.random() < 0.7:
        years = LEAP_YEARS if (month, mday) == (2, 29) else range(1950, 2006)
        return dt.date(rng.choice(years), month, mday), True
    return dt.date(PLACEHOLDER_YEAR, month, mday), False


def _interaction_times(
    rng: random.Random, *, now: dt.datetime, stale: bool
) -> list[dt.datetime]:
    if rng.random() < 0.05:
        return []
    count = min(60, int(rng.expovariate(1 / 10)) + 1)
    times = []
    for _ in range(count):
        # Squared, so recent months are denser than years ago.
        age = (rng.random() ** 2) * HISTORY_DAYS
        if stale:
            age = 200 + rng.random() * (HISTORY_DAYS - 200)
        times.append(now - dt.timedelta(days=age, seconds=rng.randrange(86_400)))
    return times


def _score_inputs(rows: list[dict], now: dt.datetime) -> ScoreInputs:
    """Compute the scoring aggregates in Python, as the SQL does (spec §3.1)."""
    d30, d90 = now - dt.timedelta(days=30), now - dt.timedelta(days=90)
    d365, d2y = now - dt.timedelta(days=365), now - dt.timedelta(days=730)
    d5y = now - dt.timedelta(days=1825)
    counts = dict.fromkeys(
        (
            "inbound", "outbound", "inbound_1_2y", "outbound_1_2y", "inbound_2_5y",
            "outbound_2_5y", "c30", "c90", "c365", "c1_2y", "c2_5y",
        ),
        0,
    )  # fmt: skip
    last_inbound = last_any = first_at = None
    platforms = set()
    counted = [r for r in rows if r["direction"] != "event" and r["occurred_at"] <= now]
    for row in counted:
        at, direction = row["occurred_at"], row["direction"]
        platforms.add(row["platform"])
        last_any = at if last_any is None or at > last_any else last_any
        first_at = at if first_at is None or at < first_at else first_at
        window = (
            "c30" if at >= d30 else
            "c90" if at >= d90 else
            "c365" if at >= d365 else
            "c1_2y" if at >= d2y else
            "c2_5y" if at >= d5y else None
        )  # fmt: skip
        if window:
            counts[window] += 1
        suffix = (
            ""
            if at >= d365
            else "_1_2y"
            if at >= d2y
            else "_2_5y"
            if at >= d5y
            else None
        )
        if suffix is None:
            continue
        if direction in ("inbound", "mutual"):
            counts[f"inbound{suffix}"] += 1
            if last_inbound is None or at > last_inbound:
                last_inbound = at
        if direction in ("outbound", "mutual"):
            counts[f"outbound{suffix}"] += 1
    return ScoreInputs(
        **counts,
        last_inbound=last_inbound,
        last_any=last_any,
        platforms=len(platforms),
        lifetime_count=len(counted),
        first_at=first_at,
    )


@dataclass
class _Rows:
    """One chunk of generated rows, one list of attname dicts per model."""

    contacts: list[dict]
    emails: list[dict]
    tags: list[dict]
    interactions: list[dict]


def _linkedin_fields(rng: random.Random, *, slug: str) -> dict:
    trailing = "/" if rng.random() < 0.5 else ""
    url = f"https://www.linkedin.com/in/{slug}{trailing}"
    fields = {"linkedin_url": url, "linkedin_url_key": normalise_profile_url(url)}
    if rng.random() < 0.8:
        fields["linkedin_profile_id"] = slug
    return fields


def _interactions(
    rng: random.Random,
    *,
    owner_id: uuid.UUID,
    contact_id: uuid.UUID,
    label: str,
    first: str,
    now: dt.datetime,
    stale: bool,
) -> list[dict]:
    rows = []
    for number, at in enumerate(_interaction_times(rng, now=now, stale=stale)):
        platform = _weighted(rng, PLATFORMS)
        if platform == "meeting":
            direction = "mutual"
        else:
            direction = rng.choices(("inbound", "outbound", "event"), (48, 47, 5))[0]
        # LinkedIn rows carry the push's key shape, so a push can re-send them.
        reference = (
            f"linkedin:conv-{label}:{number}"
            if platform == "linkedin"
            else f"bench:{label}:{number}"
        )
        rows.append(
            {
                "id": _uuid(rng),
                "owner_id": owner_id,
                "contact_id": contact_id,
                "platform": platform,
                "direction": direction,
                "content_preview": f"message {number} with {first}",
                "raw_reference_id": reference,
                "occurred_at": at,
                "created_at": now,
            }
        )
    return rows


def _contacts(
    *, owner: User, size: int, role: str, now: dt.datetime
) -> Iterator[_Rows]:
    """Yield the generated rows of ``size`` contacts, CHUNK contacts at a time.

    Plain dicts, not model instances: building 1,000,000 instances alone
    would take longer than inserting them.
    """
    rng = random.Random(f"benchmark:{role}:{size}")
    tempting = role == "other"
    today = now.date()
    chunk = _Rows([], [], [], [])
    for index in range(size):
        contact_id = _uuid(rng)
        first = rng.choice(FIRST_NAMES)
        last = rng.choice(LAST_NAMES) + rng.choice(LAST_NAME_ENDINGS)
        unique = index % UNIQUE_NAME_EVERY == UNIQUE_NAME_EVERY - 1
        if unique:
            last = UNIQUE_NAME_PREFIX + _letters(index)
        full_name = None if index % 97 == 50 else f"{first} {last}"
        emails = []
        if rng.random() < 0.85:
            emails.append(f"{first}.{last}.{index}@example.com".lower())
            if rng.random() < 0.2:
                emails.append(f"{first[0]}{last}{index}@mail.example.org".lower())
        tags = (
            sorted(rng.sample(TAGS, rng.randint(1, 3))) if rng.random() < 0.25 else []
        )
        contact = {
            "id": contact_id,
            "owner_id": owner.pk,
            "full_name": full_name,
            "given_name": first if full_name else None,
            "family_name": last if full_name else None,
            "emails": emails,
            "phones": [f"+1555{rng.randrange(10**7):07d}"]
            if rng.random() < 0.4
            else [],
            "tags": tags,
            "company": rng.choice(COMPANIES) if rng.random() < 0.7 else None,
            "title": rng.choice(TITLES) if rng.random() < 0.5 else None,
            "location": "Berlin" if rng.random() < 0.3 else None,
            "priority_level": _weighted(rng, PRIORITIES),
            "source": rng.choice(SOURCES),
            "created_at": now - dt.timedelta(days=rng.random() * 2_000),
            "updated_at": now,
        }
        if rng.random() < 0.6 or (tempting and rng.random() < 0.8):
            contact["birthday"], contact["birthday_year_known"] = _birthday(
                rng, index=index, today=today, tempting=tempting and rng.random() < 0.5
            )
        if not unique and rng.random() < 0.3:
            slug = f"{first}-{last}-{index:x}{role[0]}".lower()
            contact |= _linkedin_fields(rng, slug=slug)
        if rng.random() < 0.2:
            contact["twitter_handle"] = f"{first}{index}".lower()

        interactions = _interactions(
            rng,
            owner_id=owner.pk,
            contact_id=contact_id,
            label=f"{role}-{index}",
            first=first,
            now=now,
            stale=tempting,
        )
        inputs = _score_inputs(interactions, now)
        contact["relationship_score"] = score_breakdown(inputs, now).total
        contact["interaction_count"] = inputs.lifetime_count
        contact["last_interaction_at"] = inputs.last_any

        chunk.contacts.append(contact)
        chunk.interactions += interactions
        chunk.emails += [
            {"owner_id": owner.pk, "contact_id": contact_id, "address": address}
            for address in emails
        ]
        chunk.tags += [
            {"owner_id": owner.pk, "contact_id": contact_id, "name": tag}
            for tag in tags
        ]
        if len(chunk.contacts) == CHUNK:
            yield chunk
            chunk = _Rows([], [], [], [])
    if chunk.contacts:
        yield chunk


class _TableWriter:
    """Insert attname dicts into one model's table: ``executemany``, or COPY.

    Used instead of ``bulk_create``: at 1,000,000 interactions bulk_create's
    per-value preparation and SQLite's 999-parameter batches made seeding
    take four minutes. Values are converted once per column kind with the
    backend's own adapters, so what lands in the table is what the ORM
    would have written; columns not given get the field's default. On
    PostgreSQL the rows go through ``COPY ... FROM STDIN`` (psycopg's
    ``Cursor.copy``), which is several times faster than even pipelined
    INSERTs.
    """

    def __init__(self, model) -> None:
        fields = [
            f
            for f in model._meta.concrete_fields
            if not f.generated and not isinstance(f, AutoFieldMixin)
        ]
        quote = connection.ops.quote_name
        self.attnames = [f.attname for f in fields]
        self.converters = [self._converter(f) for f in fields]
        self.defaults = [
            convert(f.get_default()) if convert else f.get_default()
            for f, convert in zip(fields, self.converters, strict=True)
        ]
        columns = ", ".join(quote(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        table = quote(model._meta.db_table)
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"
        self.model = model

    @staticmethod
    def _converter(field):
        target = field.target_field if field.is_relation else field
        kind = target.get_internal_type()
        ops = connection.ops
        if kind == "UUIDField" and not connection.features.has_native_uuid_field:
            return lambda value: value.hex if value is not None else None
        if kind == "DateTimeField":
            return ops.adapt_datetimefield_value
        if kind == "DateField":
            return ops.adapt_datefield_value
        if kind == "JSONField":
            return lambda value, field=field: field.get_db_prep_save(value, connection)
        return None

    def write(self, rows: list[dict]) -> int:
        params = []
        for row in rows:
            values = []
            for name, convert, default in zip(
                self.attnames, self.converters, self.defaults, strict=True
            ):
                if name in row:
                    value = row[name]
                    values.append(
                        convert(value) if convert and value is not None else value
                    )
                else:
                    values.append(default)
            params.append(values)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Django's cursor wrapper has no copy(); the psycopg cursor
                # under it does, on the same connection and transaction.
                with cursor.cursor.copy(self.copy_sql) as copy:
                    for values in params:
                        copy.write_row(values)
            else:
                for start in range(0, len(params), BATCH_SIZE):
                    cursor.executemany(self.sql, params[start : start + BATCH_SIZE])
        return len(rows)


def _insert(
    *, owner: User, size: int, role: str, now: dt.datetime
) -> tuple[int, int, int]:
    """Insert one user's dataset in chunks; return (contacts, interactions, emails)."""
    writers = {
        name: _TableWriter(model)
        for name, model in (
            ("contacts", Contact),
            ("emails", ContactEmail),
            ("tags", ContactTag),
            ("interactions", Interaction),
        )
    }
    totals = [0, 0, 0]
    for chunk in _contacts(owner=owner, size=size, role=role, now=now):
        totals[0] += writers["contacts"].write(chunk.contacts)
        totals[2] += writers["emails"].write(chunk.emails)
        writers["tags"].write(chunk.tags)
        totals[1] += writers["interactions"].write(chunk.interactions)
    return totals[0], totals[1], totals[2]


@contextmanager
def _large_sqlite_cache(kib: int = 262_144) -> Iterator[None]:
    """Give SQLite a big page cache while seeding, then put the old one back.

    With the default 2 MiB cache, inserting into and deleting from indexes
    of a million rows re-reads pages from disk over and over. The timed
    jobs run with the default again.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def tables_vacuum() -> None:
    """Run VACUUM ANALYZE on the benchmark's tables (PostgreSQL only).

    After seeding: fresh statistics, so the planner sees 100,000 rows and
    not zero, and no autovacuum starting in the middle of the timed jobs.
    After a job whose repeats were rolled back: each rolled-back repeat of
    a full rescore leaves 100,000 dead row versions and index entries
    behind, which made the next job's index scans forty times slower
    until autovacuum came round. (SQLite undoes a rollback in place.)
    """
    if connection.vendor != "postgresql" or not connection.get_autocommit():
        return
    with connection.cursor() as cursor:
        for model in (Contact, Interaction, ContactEmail, ContactTag):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def seed_dataset(*, size: int, now: dt.datetime, reuse: bool = False) -> SeedSummary:
    """Replace the benchmark users' data with the dataset of ``size`` contacts.

    1. Create or refresh the two benchmark users (never any other).
    2. Delete their old contacts, interactions and lookup rows.
    3. Bulk-insert the main user's ``size`` contacts and the other user's
       tenth, with about ten interactions each, in one transaction.

    With ``reuse``, a dataset of the same size and version already in the
    database is kept as it is.
    """
    started = time.perf_counter()
    main, other = benchmark_users()
    if reuse and dataset_present(size=size):
        contacts = Contact.objects.filter(owner=main).count()
        return SeedSummary(
            size=size,
            contacts=contacts,
            interactions=Interaction.objects.filter(owner=main).count(),
            emails=ContactEmail.objects.filter(owner=main).count(),
            other_contacts=Contact.objects.filter(owner=other).count(),
            seconds=time.perf_counter() - started,
            reused=True,
        )

    with _large_sqlite_cache():
        benchmark_data_clear(users=[main, other])
        # One transaction: on SQLite every separate commit is a disk sync.
        with transaction.atomic():
            _refresh_user(other, marker="Benchmark other")
            other_counts = _insert(
                owner=other,
                size=max(1, size // OTHER_USER_SHARE),
                role="other",
                now=now,
            )
            counts = _insert(owner=main, size=size, role="main", now=now)
            _refresh_user(main, marker=_dataset_marker(size))
    tables_vacuum()
    seconds = time.perf_counter() - started
    logger.info("seeded benchmark dataset", extra={"size": size, "seconds": seconds})
    return SeedSummary(
        size=size,
        contacts=counts[0],
        interactions=counts[1],
        emails=counts[2],
        other_contacts=other_counts[0],
        seconds=seconds,
    )
