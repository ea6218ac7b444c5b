"""Write the bundled sample exports (our own invented people, real formats).

Run once by a developer when the samples change; the output files are
committed and the main job imports them. Deterministic: the same files
every run. Formats: vCard 3.0 and 2.1, Google Contacts CSV (2023+ header),
mbox, LinkedIn Connections.csv and messages.csv, an X archive folder, and a
LinkedIn push payload as the browser extension sends it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
OWNER = ("Dana Demo", "demo@example.com")
rng = random.Random(20261204)

PEOPLE = [
    # name, email, company, title, birthday (YYYY-MM-DD, --MM-DD or ""), phone
    (
        "Ada Quill",
        "ada.quill@example.org",
        "Quill Labs",
        "Founder",
        "1987-01-09",
        "+1 555 0101",
    ),
    (
        "Bruno Faber",
        "bruno@faber.example",
        "Faber & Sons",
        "CTO",
        "--01-24",
        "+1 555 0102",
    ),
    (
        "Chiara Nolte",
        "chiara.nolte@example.net",
        "Nolte GmbH",
        "Designer",
        "1990-02-08",
        "",
    ),
    ("Dmitri Varga", "dmitri@varga.example", "", "", "1984-02-29", "+1 555 0104"),
    ("Elena Ruiz", "elena.ruiz@example.com", "Ruiz Capital", "Partner", "--03-10", ""),
    (
        "Farid Haddad",
        "farid@haddad.example",
        "Cedar Tech",
        "Engineer",
        "1992-03-25",
        "",
    ),
    ("Greta Lind", "greta.lind@example.org", "", "", "1979-04-09", "+46 555 0107"),
    ("Hiro Tanaka", "hiro@tanaka.example", "Tanaka KK", "PM", "--04-24", ""),
    ("Ines Moreau", "ines.moreau@example.fr", "Moreau SA", "CEO", "1988-05-09", ""),
    ("Jonas Berg", "jonas@berg.example", "Berg AB", "Sales", "1991-05-24", ""),
    ("Kira Osei", "kira.osei@example.com", "Osei Media", "Editor", "--06-08", ""),
    ("Liam Walsh", "liam@walsh.example", "", "", "1985-06-23", "+353 555 0112"),
    ("Maya Patel", "maya.patel@example.in", "Patel Health", "Doctor", "1993-07-08", ""),
    ("Nils Ek", "nils@ek.example", "Ek Design", "Architect", "--07-23", ""),
    ("Olga Petrova", "olga@petrova.example", "", "", "1982-08-07", ""),
    ("Pablo Serra", "pablo.serra@example.es", "Serra Wines", "Owner", "1989-08-22", ""),
    ("Quinn Adler", "quinn@adler.example", "Adler Law", "Lawyer", "--09-06", ""),
    ("Rosa Lima", "rosa.lima@example.br", "Lima Foods", "COO", "1994-09-21", ""),
    ("Sven Holm", "sven@holm.example", "", "", "1980-10-06", ""),
    (
        "Tara Singh",
        "tara.singh@example.com",
        "Singh Ventures",
        "Analyst",
        "--10-21",
        "",
    ),
    ("Umar Khan", "umar@khan.example", "Khan Logistics", "Manager", "1986-11-05", ""),
    ("Vera Novak", "vera.novak@example.cz", "Novak Studio", "Artist", "1995-11-20", ""),
    ("Wes Carter", "wes@carter.example", "", "", "--12-05", ""),
    (
        "Xenia Ford",
        "xenia.ford@example.com",
        "Ford Robotics",
        "Researcher",
        "1983-12-20",
        "",
    ),
    (
        "Yusuf Demir",
        "yusuf@demir.example",
        "Demir Textiles",
        "Buyer",
        "",
        "+90 555 0125",
    ),
    ("Zoe Clarke", "zoe.clarke@example.co.uk", "Clarke & Co", "Consultant", "", ""),
]
# People the user talks to on X only: no email, so nothing else matches them.
X_PEOPLE = ["Kai Moreno", "Lena Fischer", "Tomas Reyes", "Aiko Mori"]
VCARD_PEOPLE = PEOPLE[:14]
CSV_PEOPLE = PEOPLE[12:]  # two overlap with the vCard file, to show merging

MAIL_START = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
MAIL_END = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.UTC)


def slug(name: str) -> str:
    return name.lower().replace(" ", "-") + "-" + str(sum(map(ord, name)) % 900 + 100)


def write_vcards() -> None:
    cards = []
    for i, (name, email, company, title, bday, phone) in enumerate(VCARD_PEOPLE):
        given, family = name.split(" ", 1)
        if i % 5 == 4:
            lines = [
                "BEGIN:VCARD",
                "VERSION:2.1",
                f"N:{family};{given};;;",
                f"FN:{name}",
            ]
            lines.append(f"EMAIL;INTERNET:{email}")
        else:
            lines = [
                "BEGIN:VCARD",
                "VERSION:3.0",
                f"N:{family};{given};;;",
                f"FN:{name}",
            ]
            lines.append(f"EMAIL;TYPE=INTERNET:{email}")
        if company:
            lines.append(f"ORG:{company}")
        if title:
            lines.append(f"TITLE:{title}")
        if phone:
            lines.append(f"TEL;TYPE=CELL:{phone}")
        if bday:
            lines.append(f"BDAY:{bday}")
        if i % 3 == 0:
            lines.append("CATEGORIES:friends,demo")
        lines.append("END:VCARD")
        cards.append("\r\n".join(lines))
    (HERE / "contacts.vcf").write_text("\r\n".join(cards) + "\r\n", encoding="utf-8")


def write_google_csv() -> None:
    header = [
        "First Name",
        "Middle Name",
        "Last Name",
        "Nickname",
        "File As",
        "Organization Name",
        "Organization Title",
        "Organization Department",
        "Birthday",
        "Notes",
        "Photo",
        "Labels",
        "E-mail 1 - Label",
        "E-mail 1 - Value",
        "Phone 1 - Label",
        "Phone 1 - Value",
    ]
    with (HERE / "google-contacts.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for name, email, company, title, bday, phone in CSV_PEOPLE:
            given, family = name.split(" ", 1)
            writer.writerow(
                [
                    given,
                    "",
                    family,
                    "",
                    "",
                    company,
                    title,
                    "",
                    bday,
                    "Met at a conference,\nfollow up about the project"
                    if company
                    else "",
                    "",
                    "* myContacts",
                    "* Work",
                    email,
                    "Mobile" if phone else "",
                    phone,
                ]
            )


def mail_messages() -> list[tuple[dt.datetime, EmailMessage]]:
    messages = []
    span = (MAIL_END - MAIL_START).total_seconds()
    for index, (name, email, *_rest) in enumerate(PEOPLE):
        # Busy correspondents first, quiet ones last; a few never replied.
        count = max(1, 14 - index // 2)
        for n in range(count):
            when = MAIL_START + dt.timedelta(seconds=span * rng.random())
            if index % 7 == 6:
                when = MAIL_START + dt.timedelta(days=rng.randint(0, 200))
            outbound = n % 2 == 0 or index % 9 == 8
            msg = EmailMessage()
            sender, recipient = (
                (OWNER, (name, email)) if outbound else ((name, email), OWNER)
            )
            msg["From"] = f'"{sender[0]}" <{sender[1]}>'
            msg["To"] = f'"{recipient[0]}" <{recipient[1]}>'
            if n == 3 and index + 1 < len(PEOPLE):
                other = PEOPLE[index + 1]
                msg["Cc"] = f'"{other[0]}" <{other[1]}>'
            msg["Subject"] = rng.choice(
                [
                    "Quick question",
                    "Coffee next week?",
                    "Re: the proposal",
                    "Intro",
                    "Thanks!",
                ]
            )
            msg["Date"] = format_datetime(when)
            msg["Message-ID"] = f"<sample-{index}-{n}@mail.sample.example>"
            msg.set_content("Hi,\n\nJust following up.\n\nBest\n")
            messages.append((when, msg))
    messages.sort(key=lambda pair: pair[0])
    return messages


def write_mbox() -> None:
    chunks = []
    for when, msg in mail_messages():
        body = msg.as_bytes().decode("utf-8").replace("\nFrom ", "\n>From ")
        chunks.append(f"From MAILER-DAEMON {when:%a %b %d %H:%M:%S %Y}\n{body}\n")
    (HERE / "mail.mbox").write_text("".join(chunks), encoding="utf-8")


def write_linkedin() -> None:
    folder = HERE / "linkedin-export"
    folder.mkdir(exist_ok=True)
    with (folder / "Connections.csv").open("w", newline="", encoding="utf-8") as f:
        f.write("Notes:\n")
        f.write(
            '"When exporting your connection data, you may notice that some of the '
            'email addresses are missing."\n\n'
        )
        writer = csv.writer(f)
        writer.writerow(
            [
                "First Name",
                "Last Name",
                "URL",
                "Email Address",
                "Company",
                "Position",
                "Connected On",
            ]
        )
        for name, email, company, title, *_ in PEOPLE[::2]:
            given, family = name.split(" ", 1)
            writer.writerow(
                [
                    given,
                    family,
                    f"https://www.linkedin.com/in/{slug(name)}",
                    email if len(name) % 2 else "",
                    company,
                    title,
                    "14 Mar 2025",
                ]
            )
    with (folder / "messages.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "CONVERSATION ID",
                "CONVERSATION TITLE",
                "FROM",
                "SENDER PROFILE URL",
                "TO",
                "RECIPIENT PROFILE URLS",
                "DATE",
                "SUBJECT",
                "CONTENT",
                "FOLDER",
            ]
        )
        own_url = "https://www.linkedin.com/in/dana-demo-100"
        for index, (name, *_rest) in enumerate(PEOPLE[::2][:8]):
            conv = f"2-{index:04d}sampleconversation"
            url = f"https://www.linkedin.com/in/{slug(name)}"
            for n in range(3):
                when = dt.datetime(2026, 6 + n, 3 + index, 10, 15, tzinfo=dt.UTC)
                inbound = n % 2 == 0
                writer.writerow(
                    [
                        conv,
                        "",
                        name if inbound else OWNER[0],
                        url if inbound else own_url,
                        OWNER[0] if inbound else name,
                        own_url if inbound else url,
                        when.strftime("%Y-%m-%d %H:%M:%S UTC"),
                        "",
                        "Great to connect!" if n == 0 else "Let's catch up soon.",
                        "INBOX",
                    ]
                )


def write_twitter_archive() -> None:
    folder = HERE / "twitter-archive" / "data"
    folder.mkdir(parents=True, exist_ok=True)
    own_id = "1400000000000000001"
    account = [
        {
            "account": {
                "email": OWNER[1],
                "username": "danademo",
                "accountId": own_id,
                "createdAt": "2019-05-01T10:00:00.000Z",
                "accountDisplayName": OWNER[0],
            }
        }
    ]
    (folder / "account.js").write_text(
        "window.YTD.account.part0 = " + json.dumps(account, indent=2), encoding="utf-8"
    )
    conversations = []
    for index, name in enumerate(X_PEOPLE):
        other = str(1500000000000000000 + index)
        messages = []
        for n in range(4):
            when = dt.datetime(2026, 9, 1 + index * 3 + n, 20, 0, tzinfo=dt.UTC)
            sender, recipient = (other, own_id) if n % 2 == 0 else (own_id, other)
            messages.append(
                {
                    "messageCreate": {
                        "recipientId": recipient,
                        "reactions": [],
                        "urls": [],
                        "text": f"Hey {name.split()[0]}!" if n == 0 else "Sounds good",
                        "mediaUrls": [],
                        "senderId": sender,
                        "id": str(1800000000000000000 + index * 10 + n),
                        "createdAt": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    }
                }
            )
        ids = sorted([own_id, other])
        conversations.append(
            {
                "dmConversation": {
                    "conversationId": f"{ids[0]}-{ids[1]}",
                    "messages": list(reversed(messages)),
                }
            }
        )
    (folder / "direct-messages.js").write_text(
        "window.YTD.direct_messages.part0 = " + json.dumps(conversations, indent=2),
        encoding="utf-8",
    )


def write_push_payload() -> None:
    profiles = []
    for name, _email, company, title, *_ in PEOPLE[::2][:5]:
        profiles.append(
            {
                "profile_id": slug(name),
                "profile_url": f"https://uk.linkedin.com/in/{slug(name)}/?originalSubdomain=uk",
                "full_name": name,
                "headline": f"{title} at {company}" if title and company else "",
                "company": company or None,
                "location": "Remote",
            }
        )
    profiles.append(
        {
            "profile_id": "nadia-rahman-777",
            "profile_url": "https://www.linkedin.com/in/nadia-rahman-777",
            "full_name": "Nadia Rahman",
            "headline": "Product Lead at Orbit",
            "company": "Orbit",
        }
    )
    messages = []
    for n in range(6):
        messages.append(
            {
                "profile_id": "nadia-rahman-777",
                "profile_name": "Nadia Rahman",
                "direction": "inbound" if n % 2 == 0 else "outbound",
                "content_preview": "Thanks for the intro!" if n == 0 else "Talk soon",
                "timestamp": f"2026-11-{10 + n:02d}T09:30:00Z",
                "conversation_id": "2-nadia-sample",
            }
        )
    payload = {"profiles": profiles, "messages": messages}
    (HERE / "linkedin-push.json").write_text(
        json.dumps(payload, indent=2), encoding="utf-8"
    )


def _write_json(path: Path, body) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _ms(when: dt.datetime) -> str:
    return str(int(when.timestamp() * 1000))


def write_recorded_gmail(root: Path) -> None:
    folder = root / "gmail"
    routes = {
        "GET /gmail/v1/users/me/profile": "profile.json",
        "GET /gmail/v1/users/me/messages": "messages-list.json",
        # An incremental run (the second bin/run) finds nothing new.
        "GET /gmail/v1/users/me/history": "history.json",
    }
    listed = []
    for n, (name, email, *_rest) in enumerate(PEOPLE[:8]):
        message_id = f"19{n:014x}"
        when = dt.datetime(2026, 11, 20 + n % 8, 8 + n, 30, tzinfo=dt.UTC)
        outbound = n % 3 == 0
        sender = f"{OWNER[0]} <{OWNER[1]}>" if outbound else f"{name} <{email}>"
        recipient = f"{name} <{email}>" if outbound else f"{OWNER[0]} <{OWNER[1]}>"
        body = {
            "id": message_id,
            "threadId": message_id,
            "labelIds": ["SENT"] if outbound else ["INBOX"],
            "snippet": "Following up on our chat",
            "historyId": str(90100 + n),
            "internalDate": _ms(when),
            "payload": {
                "mimeType": "text/plain",
                "headers": [
                    {"name": "From", "value": sender},
                    {"name": "To", "value": recipient},
                    {"name": "Subject", "value": "Following up"},
                    {"name": "Date", "value": format_datetime(when)},
                    {
                        "name": "Message-ID",
                        "value": f"<gmail-sample-{n}@mail.sample.example>",
                    },
                ],
            },
        }
        _write_json(folder / f"message-{message_id}.json", body)
        routes[f"GET /gmail/v1/users/me/messages/{message_id}"] = (
            f"message-{message_id}.json"
        )
        listed.append({"id": message_id, "threadId": message_id})
    _write_json(
        folder / "messages-list.json", {"messages": listed, "resultSizeEstimate": 8}
    )
    _write_json(folder / "history.json", {"historyId": "90200"})
    _write_json(
        folder / "profile.json",
        {"emailAddress": OWNER[1], "messagesTotal": 208, "historyId": "90200"},
    )
    _write_json(folder / "routes.json", routes)


def write_recorded_people(root: Path) -> None:
    folder = root / "google_contacts"
    people = []
    for n, (name, email, company, title, *_rest) in enumerate(PEOPLE[:4]):
        given, family = name.split(" ", 1)
        person = {
            "resourceName": f"people/c{7000 + n}",
            "etag": f"%EgUBAj{n}",
            "names": [{"displayName": name, "givenName": given, "familyName": family}],
            "emailAddresses": [{"value": email}],
        }
        if company:
            person["organizations"] = [{"name": company, "title": title}]
        people.append(person)
    people.append(
        {
            "resourceName": "people/c7100",
            "names": [
                {
                    "displayName": "Omar Farouk",
                    "givenName": "Omar",
                    "familyName": "Farouk",
                }
            ],
            "emailAddresses": [{"value": "omar.farouk@example.org"}],
            "phoneNumbers": [{"value": "+20 555 0130"}],
            "birthdays": [{"date": {"month": 12, "day": 12}}],
            "organizations": [{"name": "Nile Data", "title": "Data Lead"}],
        }
    )
    people.append(
        {
            "resourceName": "people/c7101",
            "names": [{"displayName": "Priya Nair | Lotus Labs"}],
            "emailAddresses": [{"value": "priya@lotus.example"}],
            "birthdays": [{"text": "sometime in spring"}],
        }
    )
    _write_json(
        folder / "connections.json",
        {
            "connections": people,
            "totalPeople": len(people),
            "nextSyncToken": "sample-sync-1",
        },
    )
    _write_json(
        folder / "routes.json", {"GET /v1/people/me/connections": "connections.json"}
    )


def write_recorded_calendar(root: Path) -> None:
    folder = root / "google_calendar"
    events = []
    for n, (name, email, *_rest) in enumerate(PEOPLE[2:7]):
        start = dt.datetime(2026, 10, 5, 14, 0, tzinfo=dt.UTC) + dt.timedelta(
            days=9 * n
        )
        events.append(
            {
                "id": f"sampleevent{n}",
                "status": "confirmed",
                "summary": f"Coffee with {name}",
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + dt.timedelta(hours=1)).isoformat()},
                "attendees": [
                    {"email": OWNER[1], "self": True, "responseStatus": "accepted"},
                    {"email": email, "displayName": name, "responseStatus": "accepted"},
                    {"email": "room-2@resource.calendar.example", "resource": True},
                ],
            }
        )
    events.append(
        {
            "id": "samplefuture",
            "status": "confirmed",
            "summary": "Planning session",
            "start": {"dateTime": "2031-01-15T10:00:00+00:00"},
            "attendees": [
                {"email": OWNER[1], "self": True},
                {"email": PEOPLE[0][1], "displayName": PEOPLE[0][0]},
            ],
        }
    )
    _write_json(
        folder / "events.json",
        {"kind": "calendar#events", "items": events, "nextSyncToken": "sample-cal-1"},
    )
    _write_json(
        folder / "routes.json",
        {"GET /calendar/v3/calendars/primary/events": "events.json"},
    )


def write_recorded_twitter(root: Path) -> None:
    folder = root / "twitter"
    own_id = "1400000000000000001"
    events, users = [], []
    for index, name in enumerate(X_PEOPLE):
        other = str(1500000000000000000 + index)
        users.append(
            {
                "id": other,
                "name": name,
                "username": name.split()[0].lower() + "_demo",
                "description": f"{name.split()[0]} tweets about work",
            }
        )
        for n in range(2):
            when = dt.datetime(2026, 11, 25 + index, 12 + n, 0, tzinfo=dt.UTC)
            events.append(
                {
                    "id": str(1900000000000000000 + index * 10 + n),
                    "event_type": "MessageCreate",
                    "text": "Congrats on the launch!" if n == 0 else "Thank you!",
                    "sender_id": other if n == 0 else own_id,
                    "dm_conversation_id": f"{own_id}-{other}",
                    "participant_ids": [own_id, other],
                    "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                }
            )
    events.sort(key=lambda e: int(e["id"]), reverse=True)
    _write_json(
        folder / "dm-events.json",
        {"data": events, "meta": {"result_count": len(events)}},
    )
    _write_json(folder / "mentions.json", {"meta": {"result_count": 0}})
    _write_json(folder / "users.json", {"data": users})
    _write_json(
        folder / "routes.json",
        {
            "GET /2/dm_events": "dm-events.json",
            f"GET /2/users/{own_id}/mentions": "mentions.json",
            "GET /2/users": "users.json",
        },
    )


def write_recorded() -> None:
    root = HERE / "recorded"
    write_recorded_gmail(root)
    write_recorded_people(root)
    write_recorded_calendar(root)
    write_recorded_twitter(root)


if __name__ == "__main__":
    write_vcards()
    write_google_csv()
    write_mbox()
    write_linkedin()
    write_twitter_archive()
    write_push_payload()
    write_recorded()
    print("sample files written to", HERE)
