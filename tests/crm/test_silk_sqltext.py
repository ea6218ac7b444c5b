"""Statements are stored with their values, secrets masked by column."""

from __future__ import annotations

import re

from crm.silk_recorder.sqltext import MASK, sql_text

SENSITIVE = re.compile("key|token|password|session", re.IGNORECASE)


def test_values_are_put_in_as_silk_shows_them():
    sql = 'SELECT "id" FROM "t" WHERE "owner_id" = %s AND "n" > %s LIMIT %s'

    assert sql_text(sql, ("abc", 3, 21), SENSITIVE) == (
        'SELECT "id" FROM "t" WHERE "owner_id" = abc AND "n" > 3 LIMIT 21'
    )


def test_a_value_compared_with_a_sensitive_column_is_masked():
    sql = (
        'SELECT "authtoken_token"."key" FROM "authtoken_token" '
        'WHERE "authtoken_token"."key" = %s AND "user_id" = %s LIMIT 21'
    )

    assert sql_text(sql, ("tok-1", 7), SENSITIVE) == (
        'SELECT "authtoken_token"."key" FROM "authtoken_token" '
        f'WHERE "authtoken_token"."key" = {MASK} AND "user_id" = 7 LIMIT 21'
    )


def test_every_value_of_an_in_list_on_a_sensitive_column_is_masked():
    sql = 'DELETE FROM "s" WHERE "session_key" IN (%s, %s) AND "n" = %s'

    assert sql_text(sql, ("a", "b", 1), SENSITIVE) == (
        f'DELETE FROM "s" WHERE "session_key" IN ({MASK}, {MASK}) AND "n" = 1'
    )


def test_inserted_values_are_masked_by_their_column():
    sql = 'INSERT INTO "t" ("key", "user_id") VALUES (%s, %s), (%s, %s)'

    assert sql_text(sql, ("k1", 1, "k2", 2), SENSITIVE) == (
        f'INSERT INTO "t" ("key", "user_id") VALUES ({MASK}, 1), ({MASK}, 2)'
    )


def test_set_values_and_unquoted_columns_are_masked():
    assert sql_text(
        'UPDATE "u" SET "password" = %s, "name" = %s', ("h", "Ann"), SENSITIVE
    ) == (f'UPDATE "u" SET "password" = {MASK}, "name" = Ann')
    assert sql_text("SELECT 1 FROM t WHERE token = %s", ("x",), SENSITIVE) == (
        f"SELECT 1 FROM t WHERE token = {MASK}"
    )


def test_escaped_percent_signs_become_one():
    assert sql_text("SELECT '100%%' WHERE a = %s", (1,), SENSITIVE) == (
        "SELECT '100%' WHERE a = 1"
    )


def test_bytes_and_long_values_are_shortened():
    sql = 'INSERT INTO "f" ("data", "note") VALUES (%s, %s)'

    assert sql_text(sql, (b"\x89PNG" * 10, "n" * 250), SENSITIVE) == (
        f'INSERT INTO "f" ("data", "note") VALUES (<40 bytes>, {"n" * 200}…(250 chars))'
    )


def test_statements_without_positional_values_keep_their_placeholders():
    assert sql_text('SELECT "a" FROM "t"', None, SENSITIVE) == 'SELECT "a" FROM "t"'
    assert sql_text("SELECT %(a)s", {"a": 1}, SENSITIVE) == "SELECT %(a)s"
    # More values than placeholders: nothing is guessed.
    assert sql_text("SELECT %s", (1, 2), SENSITIVE) == "SELECT %s"
    assert sql_text("SELECT %s, %s", (1,), SENSITIVE) == "SELECT %s, %s"
