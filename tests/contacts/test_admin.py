"""The contacts admin, through the test client as a staff user."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.forms import MultiWidget
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import (
    Contact,
    ContactEmail,
    ContactTag,
    FollowUpSuggestion,
    Interaction,
    Notification,
    User,
)
from contacts.services import contact_create, contacts_sync_lookup_rows

ADMIN = "/admin/contacts"


@pytest.fixture
def staff(db):
    user = User.objects.create_user(
        email="support@example.com", password="support-pass-1", is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["contacts", "syncjobs"])
    )
    return user


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def bulk_contacts(owner: User, count: int, *, start: int = 0) -> list[Contact]:
    """Create ``count`` contacts with one email, one tag and one interaction each."""
    now = timezone.now()
    contacts = [
        Contact(
            id=uuid.uuid4(),
            owner=owner,
            full_name=f"Person {i:04d}",
            emails=[f"person{i}@example.com"],
            tags=[f"tag{i % 3}"],
            company=f"Company {i % 4}",
            relationship_score=i % 11,
            source="vcard" if i % 2 else "gmail",
            last_interaction_at=now - dt.timedelta(days=i),
        )
        for i in range(start, start + count)
    ]
    Contact.objects.bulk_create(contacts)
    contacts_sync_lookup_rows(contacts=contacts, replace=False)
    Interaction.objects.bulk_create(
        Interaction(
            owner=owner,
            contact=contact,
            platform="email",
            direction="inbound",
            raw_reference_id=f"ref-{contact.pk}",
            occurred_at=now - dt.timedelta(days=1),
        )
        for contact in contacts
    )
    return contacts


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "path",
    [
        "contact/",
        "contact/?tier=strong",
        "contact/?tag=tag1",
        "contact/?q=person3",
        "interaction/",
        "contactemail/",
        "contacttag/",
        "user/",
    ],
)
def test_a_changelist_costs_the_same_queries_for_5_and_200_rows(
    staff_client, alice, bob, path, django_assert_max_num_queries
):
    bulk_contacts(alice, 5)
    small = queries_of(staff_client, f"{ADMIN}/{path}")

    bulk_contacts(alice, 100, start=5)
    bulk_contacts(bob, 95, start=105)
    with django_assert_max_num_queries(small):
        response = staff_client.get(f"{ADMIN}/{path}")

    assert response.status_code == 200
    assert small <= 12


def test_the_contact_changelist_shows_the_columns_and_the_score_tier(
    staff_client, alice
):
    contact_create(
        owner=alice,
        full_name="Carol Strong",
        company="Acme",
        priority_level="high",
        relationship_score=9,
        source="vcard",
    )

    response = staff_client.get(f"{ADMIN}/contact/")

    rows = response.context["cl"].result_list
    assert [c.full_name for c in rows] == ["Carol Strong"]
    html = response.content.decode()
    for header in ("column-full_name", "column-owner", "column-company", "column-tier"):
        assert header in html
    assert '<td class="field-tier">Strong</td>' in html
    assert '<td class="field-company">Acme</td>' in html


def test_searching_by_any_email_of_a_contact_finds_it(staff_client, alice):
    contact_create(
        owner=alice, full_name="Dana", emails=["dana@old.example", "DANA@new.example"]
    )
    contact_create(owner=alice, full_name="Erin", emails=["erin@example.com"])

    response = staff_client.get(f"{ADMIN}/contact/", {"q": "dana@new.example"})

    assert [c.full_name for c in response.context["cl"].result_list] == ["Dana"]


def test_a_contact_with_several_matching_emails_is_listed_once(staff_client, alice):
    contact_create(
        owner=alice, full_name="Dana", emails=["dana@a.example", "dana@b.example"]
    )

    response = staff_client.get(f"{ADMIN}/contact/", {"q": "dana@"})

    assert [c.full_name for c in response.context["cl"].result_list] == ["Dana"]


def test_the_score_tier_filter_keeps_only_that_tier(staff_client, alice):
    for name, score in [
        ("Zero", 0),
        ("Three", 3),
        ("Four", 4),
        ("Seven", 7),
        ("Eight", 8),
        ("Ten", 10),
    ]:
        contact_create(owner=alice, full_name=name, relationship_score=score)

    names = {
        tier: sorted(
            c.full_name
            for c in staff_client.get(f"{ADMIN}/contact/", {"tier": tier})
            .context["cl"]
            .result_list
        )
        for tier in ("strong", "active", "dormant")
    }

    assert names == {
        "strong": ["Eight", "Ten"],
        "active": ["Four", "Seven"],
        "dormant": ["Three", "Zero"],
    }


def test_the_tag_filter_lists_the_tags_and_keeps_only_tagged_contacts(
    staff_client, alice
):
    contact_create(owner=alice, full_name="Fay", tags=["Investor", "friend"])
    contact_create(owner=alice, full_name="Gus", tags=["friend"])
    contact_create(owner=alice, full_name="Hal", tags=[])

    everyone = staff_client.get(f"{ADMIN}/contact/")
    tagged = staff_client.get(f"{ADMIN}/contact/", {"tag": "investor"})

    tag_filter = next(
        f for f in everyone.context["cl"].filter_specs if f.title == "tag"
    )
    assert list(tag_filter.lookup_choices) == [
        ("friend", "friend"),
        ("investor", "investor"),
    ]
    assert [c.full_name for c in tagged.context["cl"].result_list] == ["Fay"]


def test_the_rescore_action_recomputes_the_selected_contacts_only(staff_client, alice):
    now = timezone.now()
    selected = contact_create(owner=alice, full_name="Old Balanced")
    other = contact_create(owner=alice, full_name="Not Selected")
    for days, direction in [
        (55, "outbound"),
        (56, "outbound"),
        (57, "outbound"),
        (58, "inbound"),
        (59, "inbound"),
        (60, "inbound"),
    ]:
        for contact in (selected, other):
            Interaction.objects.create(
                owner=alice,
                contact=contact,
                platform="email",
                direction=direction,
                raw_reference_id=f"{contact.pk}-{days}",
                occurred_at=now - dt.timedelta(days=days),
            )

    response = staff_client.post(
        f"{ADMIN}/contact/",
        {"action": "rescore_selected", "_selected_action": [str(selected.pk)]},
        follow=True,
    )

    selected.refresh_from_db()
    other.refresh_from_db()
    # Spec §7.1 "old balanced": reciprocity 4 + recency 1 + frequency 0.
    assert (selected.relationship_score, selected.interaction_count) == (5, 6)
    assert (other.relationship_score, other.interaction_count) == (0, 0)
    assert [str(m) for m in response.context["messages"]] == [
        "Rescored 1 contact(s); 1 changed."
    ]


def test_the_contact_page_shows_only_the_newest_50_interactions(staff_client, alice):
    contact = contact_create(owner=alice, full_name="Busy")
    start = timezone.now() - dt.timedelta(days=100)
    Interaction.objects.bulk_create(
        Interaction(
            owner=alice,
            contact=contact,
            platform="email",
            direction="inbound",
            raw_reference_id=f"msg-{i:03d}",
            occurred_at=start + dt.timedelta(hours=i),
        )
        for i in range(60)
    )

    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(f"{ADMIN}/contact/{contact.pk}/change/")

    html = response.content.decode()
    assert response.status_code == 200
    assert [f"msg-{i:03d}" in html for i in (59, 10, 9, 0)] == [
        True,
        True,
        False,
        False,
    ]
    assert html.index("msg-059") < html.index("msg-010")
    assert len(queries) <= 20


def _change_form_data(response) -> dict:
    """Return the POST data of an admin change page as it stands."""
    data = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form[name].value()  # already prepared for the widget
        if value is None or field.disabled:
            continue
        if isinstance(field.widget, MultiWidget):
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{i}"] = part
        else:
            data[name] = value
        if field.show_hidden_initial:
            data[form.add_initial_prefix(name)] = value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


def test_editing_emails_in_the_admin_keeps_the_email_search_in_step(
    staff_client, alice
):
    contact = contact_create(owner=alice, full_name="Ivy", emails=["ivy@old.example"])
    page = staff_client.get(f"{ADMIN}/contact/{contact.pk}/change/")
    data = _change_form_data(page)
    data["emails"] = '["Ivy@New.example"]'

    response = staff_client.post(f"{ADMIN}/contact/{contact.pk}/change/", data)

    assert response.status_code == 302
    assert list(
        ContactEmail.objects.filter(contact=contact).values_list("address", flat=True)
    ) == ["ivy@new.example"]
    contact.refresh_from_db()
    assert contact.emails == ["Ivy@New.example"]
    assert contact.user_edited_fields == ["emails"]


def test_the_user_page_edits_time_zone_and_thresholds(staff_client, alice):
    page = staff_client.get(f"/admin/contacts/user/{alice.pk}/change/")
    html = page.content.decode()
    for field in (
        "time_zone",
        "priority_high_days",
        "priority_medium_days",
        "priority_low_days",
    ):
        assert f'name="{field}"' in html
    data = _change_form_data(page)
    data.update(time_zone="Europe/Berlin", priority_high_days="14")
    data.pop("password", None)

    response = staff_client.post(f"/admin/contacts/user/{alice.pk}/change/", data)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.time_zone, alice.priority_high_days) == ("Europe/Berlin", 14)


def test_a_user_can_be_added_with_an_email(staff_client):
    response = staff_client.post(
        "/admin/contacts/user/add/",
        {
            "username": "jo@example.com",
            "email": "jo@example.com",
            "usable_password": "true",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="jo@example.com")
    assert user.check_password("a-long-pass-phrase-9")


def test_the_other_contacts_models_have_their_pages(staff_client, alice):
    contact = contact_create(
        owner=alice, full_name="Kim", emails=["kim@example.com"], tags=["vip"]
    )
    interaction = Interaction.objects.create(
        owner=alice,
        contact=contact,
        platform="email",
        direction="inbound",
        raw_reference_id="gmail:kim-1",
        occurred_at=timezone.now(),
    )
    suggestion = FollowUpSuggestion.objects.create(
        owner=alice, contact=contact, reason="quiet"
    )
    notification = Notification.objects.create(
        owner=alice, notification_type="sync", title="Done"
    )
    pages = {
        f"interaction/{interaction.pk}/change/": "gmail:kim-1",
        "followupsuggestion/": "quiet",
        f"followupsuggestion/{suggestion.pk}/change/": "quiet",
        "notification/": "Done",
        f"notification/{notification.pk}/change/": "Done",
        "contactemail/": "kim@example.com",
        "contacttag/": "vip",
        f"contacttag/{ContactTag.objects.get().pk}/change/": "vip",
    }

    for path, text in pages.items():
        response = staff_client.get(f"{ADMIN}/{path}")
        assert (path, response.status_code) == (path, 200)
        assert text in response.content.decode()
