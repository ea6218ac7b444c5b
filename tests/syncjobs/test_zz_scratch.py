from tests.conftest import SHARED_FIXTURES
from syncjobs.services import import_file
from contacts.models import Contact, Interaction

def show(alice, rel):
    Contact.objects.all().delete()
    r = import_file(owner=alice, path=SHARED_FIXTURES/rel)
    print("\n==", rel, r.fetched, r.created, r.failed, [(p.position,p.reason) for p in r.problems][:12], [(p.position,p.reason) for p in r.warnings][:5])
    for c in Contact.objects.order_by("full_name")[:12]:
        print("  ", repr(c.full_name), c.emails, c.birthday, c.birthday_year_known, repr(c.birthday_text), c.source, c.twitter_user_id, c.linkedin_profile_id, c.interaction_count, c.last_interaction_at)

def test_scratch(alice):
    for rel in ["google-contacts-csv/google-csv-2024-format-noyear-bday.csv", "vcard/eds-12-v21-qp-soft-breaks.vcf", "vcard/ezvcard-rfc6350-example-v4.vcf", "vcard/calcard-027-bday-text-value.vcf","mbox/mail-contacts-sample-rfc2047-cc-exchange-dn.mbox", "twitter-archive/archive-2", "linkedin-messages-csv/messages-2025-12col-group-draft.csv", "eml/mailparser-test18-rfc2047-comma-in-display-name.eml"]:
        show(alice, rel)
