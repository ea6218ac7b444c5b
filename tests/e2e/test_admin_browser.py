"""Drive the Django admin in headless Chromium as support staff would.

One walk through the admin on a live server on 127.0.0.1: sign in, find a
contact by email, open it and read its interactions inline, run a sync of
a Google account from the "Run a sync now" action, and read the new runs
and their counts on the sync-run timeline. Every step saves a screenshot
under ``var/e2e/``. The walk fails on any server error (an exception in a
view, a 5xx seen by the browser) and on any error in the browser console.

The providers are fakes swapped into ``syncjobs.services.PROVIDER_CLASSES``:
the live server runs in a thread of this process, so the swap reaches it.
The browser is Debian's chromium and chromedriver; nothing is downloaded.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.signals import got_request_exception
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from contacts.models import Contact, Interaction, User
from contacts.services import contact_create
from syncjobs import services
from syncjobs.models import ProviderAccount, SyncRun
from syncjobs.providers.base import Provider
from syncjobs.records import ContactRecord, InteractionRecord, ParseResult, Participant

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1920,1080",
)
WAIT_SECONDS = 10
STAFF_PASSWORD = "support-pass-e2e-1"
CONTACT_EMAIL = "morgan.reyes@example.com"
NOW = timezone.now().replace(microsecond=0)

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason=f"needs Debian's chromium and chromium-driver ({CHROMIUM}, "
        f"{CHROMEDRIVER}); install them with .ci/install-browser",
    ),
]


# --- fake providers ------------------------------------------------------------


def _mail(number: int, days_ago: int, direction: str) -> InteractionRecord:
    return InteractionRecord(
        platform="email",
        direction=direction,
        occurred_at=NOW - dt.timedelta(days=days_ago),
        reference_id=f"gmail:<e2e-{number}@mail.example.com>",
        position=f"message #{number}",
        participants=(Participant(email=CONTACT_EMAIL),),
        content_preview=f"Synced mail {number}",
    )


class FakeGmail(Provider):
    """Two new mails with the contact, one already stored mail again."""

    platform = "gmail"

    def fetch(self, *, credentials, cursor, now, **_):
        mails = [_mail(1, 1, "inbound"), _mail(2, 2, "outbound")]
        return ParseResult(interactions=mails, items_read=2, cursor={"h": "2"})


class FakeGooglePeople(Provider):
    """The known contact unchanged, and one new person."""

    platform = "google_contacts"

    def fetch(self, *, credentials, cursor, now, **_):
        people = [
            ContactRecord(
                source="google",
                position="people/c1",
                external_id="people/c1",
                full_name="Morgan Reyes",
                emails=(CONTACT_EMAIL,),
            ),
            ContactRecord(
                source="google",
                position="people/c2",
                external_id="people/c2",
                full_name="Rowan Hale",
                emails=("rowan.hale@example.com",),
            ),
        ]
        return ParseResult(contacts=people, items_read=2, cursor={"sync": "t2"})


class FakeGoogleCalendar(Provider):
    """One meeting with the contact."""

    platform = "google_calendar"

    def fetch(self, *, credentials, cursor, now, **_):
        meeting = InteractionRecord(
            platform="meeting",
            direction="mutual",
            occurred_at=NOW - dt.timedelta(hours=3),
            reference_id="gcal:e2e-event-1",
            position="event e2e-event-1",
            participants=(Participant(email=CONTACT_EMAIL),),
            content_preview="Quarterly catch-up",
        )
        return ParseResult(interactions=[meeting], items_read=1, cursor={"sync": "c1"})


FAKES = {
    "gmail": f"{__name__}.FakeGmail",
    "google_contacts": f"{__name__}.FakeGooglePeople",
    "google_calendar": f"{__name__}.FakeGoogleCalendar",
}


# --- fixtures ------------------------------------------------------------------


class ServerErrors(logging.Handler):
    """Collect every request that ended in an exception or a 5xx."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.name}: {record.getMessage()}")

    def on_exception(self, sender=None, request=None, **_) -> None:
        path = getattr(request, "path", "?")
        self.seen.append(f"exception in a view: {path}")


@pytest.fixture
def live_server(transactional_db):
    """The live server on 127.0.0.1 (pytest-django's own would be on localhost)."""
    server = LiveServer("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture
def server_errors():
    errors = ServerErrors()
    got_request_exception.connect(errors.on_exception, weak=False)
    loggers = [logging.getLogger(name) for name in ("django.request", "django.server")]
    for logger in loggers:
        logger.addHandler(errors)
    yield errors
    for logger in loggers:
        logger.removeHandler(errors)
    got_request_exception.disconnect(errors.on_exception)


@pytest.fixture
def fake_providers(monkeypatch):
    for platform, path in FAKES.items():
        monkeypatch.setitem(services.PROVIDER_CLASSES, platform, path)


@pytest.fixture
def staff(transactional_db) -> User:
    """Support staff: every permission of the two apps, not a superuser."""
    user = User.objects.create_user(
        email="support@example.com", password=STAFF_PASSWORD, is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["contacts", "syncjobs"])
    )
    return user


@pytest.fixture
def owner(transactional_db) -> User:
    return User.objects.create_user(
        email="owner@example.com", password="owner-pass-1", full_name="Olive Owner"
    )


@pytest.fixture
def morgan(owner) -> Contact:
    contact = contact_create(
        owner=owner,
        full_name="Morgan Reyes",
        emails=[CONTACT_EMAIL],
        company="Globex",
    )
    for days_ago, direction, preview in (
        (40, "inbound", "Lunch next week?"),
        (20, "outbound", "Sent the slides"),
        (5, "inbound", "Thanks for the intro"),
    ):
        Interaction.objects.create(
            owner=owner,
            contact=contact,
            platform="email",
            direction=direction,
            content_preview=preview,
            raw_reference_id=f"gmail:<seed-{days_ago}@mail.example.com>",
            occurred_at=NOW - dt.timedelta(days=days_ago),
        )
    # Someone else with a similar name, so the search has to pick by email.
    contact_create(
        owner=owner, full_name="Morgan Reid", emails=["morgan.reid@example.com"]
    )
    return contact


@pytest.fixture
def google(owner) -> ProviderAccount:
    return ProviderAccount.objects.create(
        owner=owner,
        kind=ProviderAccount.KIND_GOOGLE,
        account_id="owner@example.com",
        access_token="ya29.e2e-access",
        refresh_token="1//e2e-refresh",
        token_expires_at=NOW + dt.timedelta(hours=1),
    )


@pytest.fixture
def screenshots() -> Path:
    folder = Path(settings.VAR_DIR) / "e2e"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def browser(tmp_path):
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.set_capability(
        "goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"}
    )
    # A driver path given, so selenium never runs its manager to fetch one.
    service = Service(executable_path=str(CHROMEDRIVER), log_output=None)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(WAIT_SECONDS * 3)
    yield driver
    driver.quit()


# --- helpers -------------------------------------------------------------------


class Walk:
    """The browser, the server's address and the checks made after each step."""

    def __init__(self, driver, base_url: str, folder: Path) -> None:
        self.driver = driver
        self.base_url = base_url
        self.folder = folder
        self.steps = 0
        self.console: list[dict] = []
        self.responses: list[tuple[int, str]] = []

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def wait_for(self, css: str):
        return WebDriverWait(self.driver, WAIT_SECONDS).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def scroll_to(self, element) -> None:
        self.driver.execute_script("arguments[0].scrollIntoView();", element)

    def texts(self, css: str) -> list[str]:
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, css)]

    def step(self, name: str) -> None:
        """Save a screenshot and collect the console and network logs so far."""
        self.steps += 1
        self.driver.save_screenshot(str(self.folder / f"{self.steps:02d}-{name}.png"))
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.responseReceived":
                response = message["params"]["response"]
                self.responses.append((response["status"], response["url"]))

    def console_errors(self) -> list[str]:
        return [
            entry["message"]
            for entry in self.console
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
        ]


def column(walk: Walk, name: str) -> list[str]:
    cells = f"#result_list tbody td.field-{name}, #result_list tbody th.field-{name}"
    return walk.texts(cells)


# --- the walk ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_support_staff_find_a_contact_and_run_a_sync_from_the_admin(
    live_server,
    browser,
    screenshots,
    server_errors,
    fake_providers,
    staff,
    morgan,
    google,
):
    walk = Walk(browser, live_server.url, screenshots)

    # 1. Sign in.
    walk.open("/admin/")
    walk.wait_for("#id_username").send_keys(staff.username)
    browser.find_element(By.ID, "id_password").send_keys(STAFF_PASSWORD)
    walk.step("login")
    browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    walk.wait_for("#user-tools")
    walk.step("index")
    # Lower-cased: the admin's stylesheet shows the name in capitals.
    signed_in = browser.find_element(By.CSS_SELECTOR, "#user-tools strong").text
    assert signed_in.lower() == "support@example.com"

    # 2. Find the contact by email.
    walk.open("/admin/contacts/contact/")
    search = walk.wait_for("#searchbar")
    search.send_keys(CONTACT_EMAIL)
    browser.find_element(By.CSS_SELECTOR, "#changelist-search [type=submit]").click()
    walk.wait_for("#result_list")
    walk.step("contact-search")
    assert column(walk, "full_name") == ["Morgan Reyes"]
    assert column(walk, "company") == ["Globex"]

    # 3. Open it: its interactions, newest first, inline.
    browser.find_element(By.LINK_TEXT, "Morgan Reyes").click()
    walk.scroll_to(walk.wait_for("#interactions-group"))
    walk.step("contact-interactions")
    inline = "#interactions-group tbody tr.form-row td.field-"
    assert walk.texts(inline + "content_preview") == [
        "Thanks for the intro",
        "Sent the slides",
        "Lunch next week?",
    ]
    assert walk.texts(inline + "direction") == ["Inbound", "Outbound", "Inbound"]

    # 4. Correct the company and save, read-only inline and all.
    company = browser.find_element(By.ID, "id_company")
    company.clear()
    company.send_keys("Globex Corp")
    browser.find_element(By.CSS_SELECTOR, "input[name=_save]").click()
    walk.wait_for("ul.messagelist")
    walk.step("contact-saved")
    assert walk.texts("ul.messagelist li") == [
        "The contact “Morgan Reyes” was changed successfully."
    ]
    morgan.refresh_from_db()
    assert (morgan.company, morgan.user_edited_fields) == ("Globex Corp", ["company"])

    # 5. Run a sync of the Google account from the admin action.
    walk.open("/admin/syncjobs/provideraccount/")
    walk.wait_for("#result_list")
    browser.find_element(
        By.CSS_SELECTOR, f"input.action-select[value='{google.pk}']"
    ).click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text(
        "Run a sync now"
    )
    walk.step("sync-action")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    walk.wait_for("ul.messagelist")
    walk.step("sync-queued")
    assert walk.texts("ul.messagelist li") == [
        "Queued 3 sync(s) for 1 account(s): sync_gmail_for_user, "
        "sync_google_contacts_for_user, sync_google_calendar_for_user"
    ]

    # 6. The new runs on the timeline, with their counts.
    walk.open("/admin/syncjobs/syncrun/")
    walk.wait_for("#result_list")
    walk.step("sync-timeline")
    timeline = list(
        zip(
            column(walk, "platform"),
            column(walk, "sync_type"),
            column(walk, "status"),
            column(walk, "records_fetched"),
            column(walk, "records_created"),
            column(walk, "records_updated"),
            column(walk, "records_skipped"),
            column(walk, "records_failed"),
            strict=True,
        )
    )
    assert timeline == [
        # The meeting's participant is the known contact: kept as it was.
        ("Google Calendar", "Manual", "Success", "1", "1", "0", "1", "0"),
        # Morgan gains the People resource name; Rowan is new.
        ("Google Contacts", "Manual", "Success", "2", "1", "1", "0", "0"),
        ("Gmail", "Manual", "Success", "2", "2", "0", "0", "0"),
    ]

    # 7. One run's page: its details.
    browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")[-1].click()
    walk.wait_for(".field-details_pretty pre")
    walk.step("sync-run")
    details = json.loads(
        browser.find_element(By.CSS_SELECTOR, ".field-details_pretty pre").text
    )
    assert details["interactions_created"] == 2

    assert SyncRun.objects.filter(account=google).count() == 3
    assert sorted(
        Interaction.objects.filter(contact=morgan).values_list(
            "content_preview", flat=True
        )
    ) == [
        "Lunch next week?",
        "Quarterly catch-up",
        "Sent the slides",
        "Synced mail 1",
        "Synced mail 2",
        "Thanks for the intro",
    ]
    assert server_errors.seen == []
    assert [r for r in walk.responses if r[0] >= 500] == []
    assert walk.console_errors() == []
    assert walk.steps == 9
