"""Fuzz contacts.contact_dicts against ContactSerializer on stored contacts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.contact_dicts import CONTACT_COLUMNS, contact_dicts
from contacts.models import Contact
from contacts.serializers import ContactSerializer
from crm.envelope import EnvelopeJSONRenderer

# PostgreSQL refuses NUL in text and \u0000 in jsonb; surrogates cannot be stored.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
JSON_ITEM = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=2)
    ),
    max_leaves=6,
)
MOMENT = st.datetimes(
    min_value=dt.datetime(1900, 1, 1),
    max_value=dt.datetime(2100, 1, 1),
    timezones=st.just(dt.UTC),
)
OPTIONAL_TEXT = st.none() | TEXT


def render(data) -> bytes:
    return EnvelopeJSONRenderer().render({"data": data, "error": None, "meta": None})


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    names=st.tuples(OPTIONAL_TEXT, OPTIONAL_TEXT, OPTIONAL_TEXT),
    texts=st.tuples(OPTIONAL_TEXT, OPTIONAL_TEXT, OPTIONAL_TEXT),
    emails=st.lists(JSON_ITEM, max_size=3),
    tags=st.lists(JSON_ITEM, max_size=3),
    edited=st.lists(JSON_ITEM, max_size=3),
    moments=st.tuples(st.none() | MOMENT, st.none() | MOMENT),
    birthday=st.none() | st.dates(min_value=dt.date(1, 1, 1)),
    year_known=st.booleans(),
    score=st.integers(min_value=0, max_value=10),
    zone=st.sampled_from(
        ["UTC", "Asia/Kathmandu", "America/St_Johns", "Europe/London"]
    ),
)
def test_any_stored_contact_renders_as_the_serializer(
    alice,
    names,
    texts,
    emails,
    tags,
    edited,
    moments,
    birthday,
    year_known,
    score,
    zone,
):
    from django.utils import timezone

    Contact.objects.filter(owner=alice).delete()
    contact = Contact.objects.create(
        owner=alice,
        full_name=names[0],
        given_name=names[1],
        family_name=names[2],
        notes=texts[0],
        twitter_bio=texts[1],
        company=texts[2],
        emails=emails,
        phones=emails[::-1],
        tags=tags,
        user_edited_fields=edited,
        last_interaction_at=moments[0],
        last_followup_at=moments[1],
        birthday=birthday,
        birthday_year_known=year_known,
        relationship_score=score,
        source=texts[2][:32] if texts[2] else None,
    )
    # Bypass save() normalisation for the lists, as a bulk write would store them.
    Contact.objects.filter(pk=contact.pk).update(emails=emails, tags=tags)
    queryset = Contact.objects.filter(pk=contact.pk)
    with timezone.override(zone):
        fast = contact_dicts(list(queryset.values(*CONTACT_COLUMNS)))
        slow = ContactSerializer(list(queryset), many=True).data
    assert fast == slow
    assert render(fast) == render(slow)
