"""parse_twitter_archive over the real archive files in ../shared/fixtures."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from collections import Counter

from syncjobs.imports.twitter_archive import parse_twitter_archive
from syncjobs.records import InteractionRecord, Participant, RecordProblem
from tests.conftest import shared_fixture

OWNER_1 = "7419001"
OWNER_2 = "1482200001"
INFERRED_1 = RecordProblem(
    "account.js",
    f"no account.js; took {OWNER_1} as the owner because every conversation id "
    "or group snapshot contains it",
)


def pairs(result) -> Counter:
    return Counter(
        (i.participants[0].twitter_user_id, i.direction) for i in result.interactions
    )


def test_it_reads_both_dm_files_of_archive_1_and_infers_the_owner():
    result = parse_twitter_archive(shared_fixture("twitter-archive/archive-1"))

    assert result.items_read == 34
    assert len(result.interactions) == 19
    assert pairs(result) == Counter(
        {
            # direct-messages.js
            ("2647", "inbound"): 1,
            ("399470", "inbound"): 1,
            ("755412544", "inbound"): 2,
            ("755412544", "outbound"): 1,
            ("508903982", "inbound"): 2,
            ("508903982", "outbound"): 2,
            ("580478447060913863", "inbound"): 1,
            ("580478447060913863", "outbound"): 1,
            ("8260711157942922364", "inbound"): 1,
            # direct-messages-group.js: received messages are with their sender
            ("9318553696", "inbound"): 1,
            ("2380725664", "inbound"): 1,
            ("54173054", "inbound"): 1,
            ("478850329", "inbound"): 1,
            ("577020394", "inbound"): 2,
            ("79137113", "inbound"): 1,
        }
    )
    assert result.warnings == [INFERRED_1]
    assert result.errors == [
        RecordProblem(
            "conversation 778436032653959566 message #1",
            "sent by the owner to nobody the archive names",
        )
    ]
    assert result.contacts == []
    assert result.cursor == {}


def test_it_keys_archive_messages_like_the_api_and_keeps_the_text():
    result = parse_twitter_archive(
        shared_fixture("twitter-archive/archive-1/direct-messages.js")
    )

    by_reference = {i.reference_id: i for i in result.interactions}
    assert by_reference["twitter_dm:1180540745133936644"] == InteractionRecord(
        platform="twitter",
        direction="outbound",
        occurred_at=dt.datetime(2019, 10, 5, 17, 50, 21, 863000, tzinfo=dt.UTC),
        reference_id="twitter_dm:1180540745133936644",
        position="conversation 7419001-755412544 message #3",
        participants=(Participant(twitter_user_id="755412544"),),
        content_preview="Any update on this? https://t.co/FfzwW7bNS4",
        per_contact=False,
    )
    # 2007-era short id, a whole second without a fraction.
    old = by_reference["twitter_dm:16150712"]
    assert old.occurred_at == dt.datetime(2007, 11, 23, 4, 15, 55, tzinfo=dt.UTC)
    assert old.direction == "inbound"
    assert old.participants == (Participant(twitter_user_id="399470"),)
    emoji = by_reference["twitter_dm:889030289560707075"]
    assert emoji.content_preview.endswith(
        "🦄🦄🦄🦄🦄🦄🙌 https://t.co/8zIkeFUnEO https://t.co/3BUP9ljXjs"
    )
    assert result.items_read == 12
    assert result.errors == []
    assert result.warnings == [INFERRED_1]


def test_it_counts_joins_and_leaves_as_read_without_errors_in_the_group_file():
    result = parse_twitter_archive(
        shared_fixture("twitter-archive/archive-1/direct-messages-group.js")
    )

    # 22 entries: 8 leaves, 2 joins, 3 joinConversation, 9 messages.
    assert result.items_read == 22
    assert [
        (i.reference_id, i.participants[0].twitter_user_id, i.position)
        for i in result.interactions
    ] == [
        (
            "twitter_dm:573481509274914817",
            "9318553696",
            "conversation 015442717803189683 message #9",
        ),
        (
            "twitter_dm:573457871767224321",
            "2380725664",
            "conversation 015442717803189683 message #10",
        ),
        (
            "twitter_dm:572087615144529920",
            "54173054",
            "conversation 015442717803189683 message #11",
        ),
        (
            "twitter_dm:572078107957436416",
            "478850329",
            "conversation 015442717803189683 message #14",
        ),
        (
            "twitter_dm:572076786038808576",
            "577020394",
            "conversation 015442717803189683 message #15",
        ),
        (
            "twitter_dm:572075190676561920",
            "79137113",
            "conversation 015442717803189683 message #16",
        ),
        (
            "twitter_dm:572073949359710208",
            "577020394",
            "conversation 015442717803189683 message #17",
        ),
    ]
    # The owner is inferred from the group snapshots alone.
    assert result.warnings == [INFERRED_1]
    assert len(result.errors) == 1


def test_it_takes_the_owner_from_account_js_in_archive_2():
    result = parse_twitter_archive(shared_fixture("twitter-archive/archive-2"))

    assert result.items_read == 27
    assert len(result.interactions) == 27
    assert pairs(result) == Counter(
        {
            ("810190", "outbound"): 2,
            ("9904814", "outbound"): 2,
            ("9904814", "inbound"): 1,
            ("8543378", "outbound"): 1,
            ("8543378", "inbound"): 5,
            ("6759770792", "outbound"): 5,
            ("6759770792", "inbound"): 3,
            ("5257116304038154719", "outbound"): 2,
            ("5257116304038154719", "inbound"): 1,
            ("381446694", "outbound"): 4,
            ("381446694", "inbound"): 1,
        }
    )
    assert result.errors == []
    assert result.warnings == []
    first = result.interactions[0]
    assert first.reference_id == "twitter_dm:1438019868868100109"
    assert first.occurred_at == dt.datetime(
        2021, 9, 15, 6, 0, 28, 597000, tzinfo=dt.UTC
    )
    assert first.position == "conversation 810190-1482200001 message #1"


def test_a_message_with_a_reaction_is_one_interaction():
    result = parse_twitter_archive(shared_fixture("twitter-archive/archive-2"))

    reacted = [
        i
        for i in result.interactions
        if i.reference_id
        in ("twitter_dm:1638523405342318598", "twitter_dm:1623433994892111876")
    ]
    assert [(i.direction, i.content_preview) for i in reacted] == [
        ("outbound", "Will do."),
        ("outbound", "Sure, happy to help."),
    ]


def test_a_lone_direct_messages_file_uses_the_account_js_beside_it():
    result = parse_twitter_archive(
        shared_fixture("twitter-archive/archive-2/direct-messages.js")
    )

    assert len(result.interactions) == 27
    assert result.warnings == []


def test_it_reads_a_zip_with_the_data_folder_layout(tmp_path):
    folder = shared_fixture("twitter-archive/archive-2")
    archive = tmp_path / "twitter-2023-05-01.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in ("account.js", "direct-messages.js"):
            zipped.write(folder / name, f"data/{name}")

    result = parse_twitter_archive(archive)

    assert len(result.interactions) == 27
    assert pairs(result) == pairs(parse_twitter_archive(folder))
    assert result.warnings == []


def ytd(name: str, data: list) -> str:
    return f"window.YTD.{name}.part0 = {json.dumps(data, indent=2)}"


def account(owner: str) -> str:
    return ytd("account", [{"account": {"accountId": owner, "username": "owner"}}])


def message(message_id: str, sender: str, created: str, **extra) -> dict:
    body = {
        "reactions": [],
        "urls": [],
        "text": f"text {message_id}",
        "mediaUrls": [],
        "senderId": sender,
        "id": message_id,
        "createdAt": created,
    }
    body.update(extra)
    return {"messageCreate": body}


def test_a_group_message_the_owner_sent_goes_to_each_member_at_that_time(tmp_path):
    conversation = {
        "conversationId": "1000000000000000001",
        "messages": [
            message("5003", "42", "2021-01-03T10:00:00.000Z"),
            {
                "participantsLeave": {
                    "userIds": ["102"],
                    "createdAt": "2021-01-02T12:00:00.000Z",
                }
            },
            {
                "participantsJoin": {
                    "initiatingUserId": "42",
                    "userIds": ["103"],
                    "createdAt": "2021-01-02T09:00:00.000Z",
                }
            },
            message("5001", "42", "2021-01-01T10:00:01.000Z"),
            {
                "joinConversation": {
                    "initiatingUserId": "101",
                    "participantsSnapshot": ["101", "102", "42"],
                    "createdAt": "2021-01-01T10:00:00.000Z",
                }
            },
        ],
    }
    (tmp_path / "account.js").write_text(account("42"), encoding="utf-8")
    (tmp_path / "direct-messages-group.js").write_text(
        ytd("direct_messages_group", [{"dmConversation": conversation}]),
        encoding="utf-8",
    )

    result = parse_twitter_archive(tmp_path)

    assert [
        (i.reference_id, i.direction, i.participants, i.per_contact)
        for i in result.interactions
    ] == [
        (
            "twitter_dm:5003:101",
            "outbound",
            (Participant(twitter_user_id="101"),),
            False,
        ),
        (
            "twitter_dm:5003:103",
            "outbound",
            (Participant(twitter_user_id="103"),),
            False,
        ),
        (
            "twitter_dm:5001:101",
            "outbound",
            (Participant(twitter_user_id="101"),),
            False,
        ),
        (
            "twitter_dm:5001:102",
            "outbound",
            (Participant(twitter_user_id="102"),),
            False,
        ),
    ]
    assert result.items_read == 5
    assert result.errors == []


def test_it_skips_bad_messages_and_a_broken_file_and_reads_the_rest(tmp_path):
    conversation = {
        "conversationId": "42-77",
        "messages": [
            message("6004", "77", "2022-03-04T10:00:00.000Z", recipientId="42"),
            {
                "reactionCreate": {
                    "senderId": "77",
                    "reactionKey": "like",
                    "eventId": "6005",
                    "createdAt": "2022-03-04T10:01:00.000Z",
                }
            },
            message("6003", "", "2022-03-03T10:00:00.000Z", recipientId="42"),
            message("6002", "42", "yesterday", recipientId="77"),
            "not an object",
            message("6001", "42", "2022-03-01T10:00:00+01:00", recipientId="77"),
        ],
    }
    (tmp_path / "account.js").write_text(account("42"), encoding="utf-8")
    (tmp_path / "direct-messages.js").write_text(
        ytd("direct_messages", [{"dmConversation": conversation}]), encoding="utf-8"
    )
    (tmp_path / "direct-messages-group.js").write_text(
        "window.YTD.direct_messages_group.part0 = [ {", encoding="utf-8"
    )

    result = parse_twitter_archive(tmp_path)

    assert [
        (i.reference_id, i.direction, i.occurred_at) for i in result.interactions
    ] == [
        (
            "twitter_dm:6004",
            "inbound",
            dt.datetime(2022, 3, 4, 10, 0, tzinfo=dt.UTC),
        ),
        (
            "twitter_dm:6001",
            "outbound",
            dt.datetime(2022, 3, 1, 9, 0, tzinfo=dt.UTC),
        ),
    ]
    broken, *bad_messages = result.errors
    assert broken.position == "direct-messages-group.js"
    # The rest of the reason is the json module's own wording.
    assert broken.reason.startswith("not a YTD data file: ")
    assert bad_messages == [
        RecordProblem("conversation 42-77 message #3", "no senderId"),
        RecordProblem(
            "conversation 42-77 message #4", "unreadable createdAt 'yesterday'"
        ),
        RecordProblem("conversation 42-77 message #5", "not a JSON object"),
    ]
    assert result.items_read == 6


def test_it_reports_a_folder_without_dm_files(tmp_path):
    result = parse_twitter_archive(tmp_path)

    assert result.errors == [
        RecordProblem(
            tmp_path.name, "no direct-messages.js or direct-messages-group.js"
        )
    ]
    assert result.interactions == []
