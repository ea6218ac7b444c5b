"""Admin for users, contacts and their interactions, kept cheap at any size.

Every changelist selects its foreign keys in the one page query
(``list_select_related``), computes its columns from the row itself, and
lets filters run one query each, so the number of queries of a page does
not grow with its rows.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.forms.models import BaseInlineFormSet

from contacts.models import (
    Contact,
    ContactEmail,
    ContactTag,
    FollowUpSuggestion,
    Interaction,
    Notification,
    User,
)

INLINE_INTERACTIONS = 50
TAG_FILTER_CHOICES = 200

# (value, label, lowest score, highest score)
SCORE_TIERS = (
    ("strong", "Strong (8-10)", 8, 10),
    ("active", "Active (4-7)", 4, 7),
    ("dormant", "Dormant (0-3)", 0, 3),
)


def score_tier(score: int) -> str:
    """Return the tier label of a 0-10 relationship score."""
    for _value, label, low, high in SCORE_TIERS:
        if low <= score <= high:
            return label.split(" ", 1)[0]
    return "-"


class ScoreTierFilter(admin.SimpleListFilter):
    title = "score tier"
    parameter_name = "tier"

    def lookups(self, request, model_admin):
        return [(value, label) for value, label, _low, _high in SCORE_TIERS]

    def queryset(self, request, queryset):
        for value, _label, low, high in SCORE_TIERS:
            if self.value() == value:
                return queryset.filter(
                    relationship_score__gte=low, relationship_score__lte=high
                )
        return queryset


class TagFilter(admin.SimpleListFilter):
    """Filter on one tag, through the lower-cased ContactTag rows."""

    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        names = (
            ContactTag.objects.order_by("name")
            .values_list("name", flat=True)
            .distinct()[:TAG_FILTER_CHOICES]
        )
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        # Exists, not a join: a join would need DISTINCT to keep one row
        # per contact.
        tagged = ContactTag.objects.filter(contact=OuterRef("pk"), name=self.value())
        return queryset.filter(Exists(tagged))


class RecentInteractionsFormSet(BaseInlineFormSet):
    """Show only the newest interactions: a contact can have thousands."""

    def get_queryset(self):
        if not hasattr(self, "_recent"):
            self._recent = (
                super().get_queryset().order_by("-occurred_at")[:INLINE_INTERACTIONS]
            )
        return self._recent


class InteractionInline(admin.TabularInline):
    model = Interaction
    formset = RecentInteractionsFormSet
    fk_name = "contact"
    # No foreign key among the fields: a read-only one costs a query per row.
    fields = (
        "occurred_at",
        "platform",
        "direction",
        "content_preview",
        "raw_reference_id",
        "is_read_by_recipient",
    )
    readonly_fields = fields
    verbose_name_plural = f"interactions (newest {INLINE_INTERACTIONS})"
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = (
        "full_name",
        "owner",
        "company",
        "priority_level",
        "relationship_score",
        "tier",
        "last_interaction_at",
        "source",
    )
    list_filter = ("priority_level", "source", ScoreTierFilter, TagFilter)
    search_fields = (
        "full_name",
        "given_name",
        "family_name",
        "company",
        "email_addresses__address",
    )
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    readonly_fields = (
        "relationship_score",
        "interaction_count",
        "last_interaction_at",
        "created_at",
        "updated_at",
    )
    ordering = ("-created_at",)
    inlines = (InteractionInline,)
    actions = ("rescore_selected",)

    def save_model(self, request, obj, form, change):
        from contacts.services import contact_update

        # Through the service, so the ContactEmail/ContactTag rows the search
        # and filters read stay in step with the lists. An edit made here
        # sticks like the user's own: a later sync does not undo it.
        if change:
            data = {name: getattr(obj, name) for name in form.changed_data}
        else:
            data = {"emails": obj.emails, "tags": obj.tags}
        contact_update(contact=obj, data=data, by_user=change)

    @admin.display(description="tier", ordering="relationship_score")
    def tier(self, obj: Contact) -> str:
        return score_tier(obj.relationship_score)

    @admin.action(description="Rescore selected contacts")
    def rescore_selected(self, request, queryset):
        from contacts.scoring import contacts_rescore

        # A plain pk filter: the changelist's queryset may carry a search's
        # Exists() and ordering that the aggregate query has no use for.
        contacts = Contact.objects.filter(pk__in=queryset.values("pk"))
        result = contacts_rescore(contacts=contacts)
        self.message_user(
            request,
            f"Rescored {result.examined} contact(s); {result.changed} changed.",
            messages.SUCCESS,
        )


class InteractionAdminForm(forms.ModelForm):
    """Refuse an interaction owned by someone other than its contact's owner.

    The nightly rescore finds the interactions whose age crossed a boundary
    through the interaction's own owner; one owned by another user would
    leave its contact's score unrepaired.
    """

    class Meta:
        model = Interaction
        fields = (
            "owner",
            "contact",
            "platform",
            "direction",
            "content_preview",
            "raw_reference_id",
            "is_read_by_recipient",
            "occurred_at",
        )

    def clean(self):
        cleaned = super().clean()
        contact, owner = cleaned.get("contact"), cleaned.get("owner")
        if contact is not None and owner is not None and contact.owner_id != owner.pk:
            raise forms.ValidationError(
                {"owner": "Must be the owner of the contact."}, code="owner_mismatch"
            )
        return cleaned


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    form = InteractionAdminForm
    list_display = (
        "occurred_at",
        "contact",
        "owner",
        "platform",
        "direction",
        "raw_reference_id",
    )
    list_filter = ("platform", "direction")
    date_hierarchy = "occurred_at"
    search_fields = ("contact__full_name", "raw_reference_id", "owner__email")
    list_select_related = ("contact", "owner")
    raw_id_fields = ("owner", "contact")
    ordering = ("-occurred_at",)

    # Each write rescores the contacts it changed, in its transaction: the
    # nightly rescore only looks at contacts whose interactions' ages
    # crossed a boundary, so it would never repair them.

    def save_model(self, request, obj, form, change):
        from contacts.services import interaction_contacts, interaction_edits_rescore

        with transaction.atomic():
            # Read before the save: an edit may move the interaction to
            # another contact, whose old one must be rescored too.
            stored = Interaction.objects.filter(pk=obj.pk)
            before = interaction_contacts(stored) if change else set()
            super().save_model(request, obj, form, change)
            interaction_edits_rescore(contacts=before | interaction_contacts(stored))

    def delete_model(self, request, obj):
        from contacts.services import interaction_contacts, interaction_edits_rescore

        with transaction.atomic():
            before = interaction_contacts(Interaction.objects.filter(pk=obj.pk))
            super().delete_model(request, obj)
            interaction_edits_rescore(contacts=before)

    def delete_queryset(self, request, queryset):
        from contacts.services import interaction_contacts, interaction_edits_rescore

        with transaction.atomic():
            before = interaction_contacts(queryset)
            super().delete_queryset(request, queryset)
            interaction_edits_rescore(contacts=before)


@admin.register(FollowUpSuggestion)
class FollowUpSuggestionAdmin(admin.ModelAdmin):
    list_display = ("contact", "owner", "status", "reason", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("contact__full_name", "owner__email")
    list_select_related = ("contact", "owner")
    raw_id_fields = ("owner", "contact")
    ordering = ("-created_at",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "owner", "notification_type", "title", "read")
    list_filter = ("notification_type", "read")
    search_fields = ("title", "owner__email")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    ordering = ("-created_at",)


@admin.register(ContactEmail)
class ContactEmailAdmin(admin.ModelAdmin):
    list_display = ("address", "contact", "owner")
    search_fields = ("address",)
    list_select_related = ("contact", "owner")
    raw_id_fields = ("owner", "contact")


@admin.register(ContactTag)
class ContactTagAdmin(admin.ModelAdmin):
    list_display = ("name", "contact", "owner")
    search_fields = ("name",)
    list_select_related = ("contact", "owner")
    raw_id_fields = ("owner", "contact")


@admin.register(User)
class CRMUserAdmin(UserAdmin):
    """Django's user admin plus the CRM's own settings of a user."""

    list_display = ("email", "full_name", "time_zone", "is_staff", "date_joined")
    search_fields = ("email", "full_name", "username")
    ordering = ("email",)
    fieldsets = (
        *UserAdmin.fieldsets,
        (
            "CRM settings",
            {
                "fields": (
                    "full_name",
                    "time_zone",
                    "priority_high_days",
                    "priority_medium_days",
                    "priority_low_days",
                    "leap_day_birthdays_on",
                    "birthday_reminder_hour",
                    "sync_settings",
                )
            },
        ),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "email",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
