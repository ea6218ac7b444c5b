"""The one LinkedIn profile URL normaliser: golden table, B04, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkedin.profile_urls import (
    CANONICAL_PREFIX,
    normalise_profile_url,
    profile_id_from_url,
)

JANE = "https://www.linkedin.com/in/jane-doe-123"
BOEHM = "https://www.linkedin.com/in/nadia-böhm-e52e2a3c6"

GOLDEN = [
    # Known bug B04: the stored spelling and (a)-(e) are one key.
    ("https://www.linkedin.com/in/jane-doe-123/", JANE),
    ("http://uk.linkedin.com/in/jane-doe-123?originalSubdomain=uk", JANE),
    ("linkedin.com/in/jane-doe-123", JANE),
    ("https://www.linkedin.com/in/jane-doe-123/details/experience/", JANE),
    ("https://m.linkedin.com/in/jane-doe-123/#about", JANE),
    ("  HTTPS://WWW.LINKEDIN.COM/in/Jane-Doe-123  ", JANE),
    # (f) a company page is not a person; (g) is another person.
    ("https://www.linkedin.com/company/jane-doe-123", ""),
    ("https://www.linkedin.com/in/jane-doe-1234", JANE + "4"),
    # Scheme, host and port spellings.
    ("www.linkedin.com/in/jane-doe-123", JANE),
    ("//www.linkedin.com/in/jane-doe-123", JANE),
    ("http://linkedin.com/in/jane-doe-123", JANE),
    ("https://de.linkedin.com/in/jane-doe-123", JANE),
    ("https://fr.linkedin.com/in/jane-doe-123/", JANE),
    ("https://www.linkedin.com./in/jane-doe-123", JANE),
    ("https://www.linkedin.com:443/in/jane-doe-123", JANE),
    ("\tlinkedin.com/in/jane-doe-123\n", JANE),
    ("\u200bhttps://www.linkedin.com/in/jane-doe-123\ufeff", JANE),
    # Trailing sub-paths, queries and fragments.
    ("https://www.linkedin.com/in/jane-doe-123/recent-activity/all/", JANE),
    ("https://www.linkedin.com/in/jane-doe-123/overlay/contact-info/", JANE),
    ("https://www.linkedin.com/in/jane-doe-123?trk=public_profile#experience", JANE),
    ("https://www.linkedin.com/IN/jane-doe-123", JANE),
    ("https://www.linkedin.com/in//jane-doe-123//", JANE),
    # Percent-encoding: decoded, NFC, lower-cased, however it was written.
    ("https://www.linkedin.com/in/nadia-b%C3%B6hm-e52e2a3c6", BOEHM),
    ("https://www.linkedin.com/in/nadia-b%c3%b6hm-e52e2a3c6/", BOEHM),
    ("https://www.linkedin.com/in/nadia-böhm-e52e2a3c6", BOEHM),
    ("https://www.linkedin.com/in/nadia-bo\u0308hm-e52e2a3c6", BOEHM),
    ("https://www.linkedin.com/in/NADIA-B%C3%96HM-E52E2A3C6", BOEHM),
    ("https://www.linkedin.com/in/nadia-b%25C3%25B6hm-e52e2a3c6", BOEHM),
    (
        "https://www.linkedin.com/in/noah-richter-holm%F0%9F%94%B8-d19f5359",
        "https://www.linkedin.com/in/noah-richter-holm🔸-d19f5359",
    ),
    # Member URN ids keep their case: they are case-sensitive ids.
    (
        "https://www.linkedin.com/in/ACoAAA8BYqEBCGLg_vT_ca6mMEqkpp9nVffJ3hc/",
        "https://www.linkedin.com/in/ACoAAA8BYqEBCGLg_vT_ca6mMEqkpp9nVffJ3hc",
    ),
    # Not person profiles.
    ("https://www.linkedin.com/school/tu-delft/", ""),
    ("https://www.linkedin.com/feed/", ""),
    ("https://www.linkedin.com/feed/update/urn:li:activity:7388222701691146240", ""),
    ("https://www.linkedin.com/posts/ellen-peeters-5b2c81d4_mantelzorg", ""),
    ("https://www.linkedin.com/pub/jane-doe/1/23/456", ""),
    ("https://www.linkedin.com/in/", ""),
    ("https://www.linkedin.com/in/%20", ""),
    ("https://www.linkedin.com/in/jane%2Fdoe", ""),
    ("https://www.linkedin.com/in/jane%ZZdoe", ""),
    ("https://www.linkedin.com/in/jane%FFdoe", ""),
    ("https://www.linkedin.com/in/..", ""),
    ("https://www.linkedin.com/in/-/", ""),
    ("https://www.linkedin.com/in/jane-doe-123\u200d", JANE),
    ("https://www.linkedin.com/in/" + "a" * 101, ""),
    ("https://linkedin.com.evil.example/in/jane-doe-123", ""),
    ("https://notlinkedin.com/in/jane-doe-123", ""),
    ("https://www.linkedin.com@evil.example/in/jane-doe-123", ""),
    ("https://jane@www.linkedin.com/in/jane-doe-123", ""),
    ("https://www.linkedin.com:8080/in/jane-doe-123", ""),
    ("https://evil.www.linkedin.com/in/jane-doe-123", ""),
    ("ftp://www.linkedin.com/in/jane-doe-123", ""),
    ("javascript:alert(document.cookie)//linkedin.com/in/jane-doe-123", ""),
    ("JavaScript:alert(1)", ""),
    ("data:text/html,<a href=//linkedin.com/in/x>", ""),
    ("https://[::1/in/jane-doe-123", ""),
    ("jane-doe-123", ""),
    ("", ""),
    ("   ", ""),
    (None, ""),
]


@pytest.mark.parametrize(("value", "expected"), GOLDEN)
def test_it_gives_every_spelling_its_one_canonical_key(value, expected):
    assert normalise_profile_url(value) == expected


def test_the_golden_table_covers_at_least_thirty_variants():
    assert len(GOLDEN) >= 30


def test_it_folds_all_of_b04_a_to_e_onto_the_stored_contact_and_nothing_else():
    stored = normalise_profile_url("https://www.linkedin.com/in/jane-doe-123/")
    pushed = {
        "a": "http://uk.linkedin.com/in/jane-doe-123?originalSubdomain=uk",
        "b": "linkedin.com/in/jane-doe-123",
        "c": "https://www.linkedin.com/in/jane-doe-123/details/experience/",
        "d": "https://m.linkedin.com/in/jane-doe-123/#about",
        "e": "  HTTPS://WWW.LINKEDIN.COM/in/Jane-Doe-123  ",
        "f": "https://www.linkedin.com/company/jane-doe-123",
        "g": "https://www.linkedin.com/in/jane-doe-1234",
    }

    keys = {label: normalise_profile_url(url) for label, url in pushed.items()}

    assert stored == "https://www.linkedin.com/in/jane-doe-123"
    assert [label for label, key in keys.items() if key == stored] == list("abcde")
    assert keys["f"] == ""
    assert keys["g"] == "https://www.linkedin.com/in/jane-doe-1234"


def test_it_makes_an_encoded_and_a_literal_e_acute_the_same_key():
    assert normalise_profile_url("linkedin.com/in/ren%C3%A9e") == normalise_profile_url(
        "linkedin.com/in/renée"
    )
    assert normalise_profile_url("linkedin.com/in/renée") == (
        "https://www.linkedin.com/in/renée"
    )


def test_it_returns_the_slug_as_the_profile_id():
    assert profile_id_from_url("http://uk.linkedin.com/in/Jane-Doe-123/") == (
        "jane-doe-123"
    )
    assert profile_id_from_url(
        "https://www.linkedin.com/in/sofia-j%C3%A4%C3%A4ttel%C3%A4"
    ) == ("sofia-jäättelä")


def test_it_returns_no_profile_id_for_what_is_not_a_profile():
    assert profile_id_from_url("https://www.linkedin.com/company/acme") == ""
    assert profile_id_from_url("") == ""
    assert profile_id_from_url(None) == ""


_PREFIXES = st.sampled_from(
    ["", "http://", "https://", "HTTPS://", "//", "javascript:", "ftp://", " "]
)
_HOSTS = st.sampled_from(
    [
        "linkedin.com",
        "www.linkedin.com",
        "WWW.LinkedIn.COM",
        "uk.linkedin.com",
        "m.linkedin.com",
        "linkedin.com.evil.example",
        "notlinkedin.com",
        "www.linkedin.com:443",
        "www.linkedin.com:99999",
        "user@www.linkedin.com",
        "[::1",
        "",
    ]
)
_SECTIONS = st.sampled_from(["/in/", "/IN/", "/company/", "/pub/", "/in//", "/", ""])
_SLUGS = st.lists(
    st.sampled_from(
        [*"abcXYZ019-_.%/?#@ :éÖ🔸\u0301\u200d\t", "%C3%A9", "%25", "%F0%9F"]
    ),
    max_size=30,
).map("".join)
_SUFFIXES = st.sampled_from(
    ["", "/", "/details/experience/", "?originalSubdomain=uk", "#about", "/ ", "%"]
)
URL_SHAPED = st.builds(
    lambda *parts: "".join(parts), _PREFIXES, _HOSTS, _SECTIONS, _SLUGS, _SUFFIXES
)


@given(st.text())
def test_it_never_raises_on_arbitrary_text(value):
    result = normalise_profile_url(value)

    assert result == "" or result.startswith(CANONICAL_PREFIX)


@given(URL_SHAPED)
def test_it_never_raises_on_url_shaped_text_and_outputs_only_canonical_keys(value):
    result = normalise_profile_url(value)

    assert result == "" or result.startswith(CANONICAL_PREFIX)


@given(st.one_of(URL_SHAPED, st.text()))
def test_a_canonical_key_normalises_to_itself(value):
    result = normalise_profile_url(value)

    if result:
        assert normalise_profile_url(result) == result
        assert profile_id_from_url(result) == result.removeprefix(CANONICAL_PREFIX)
