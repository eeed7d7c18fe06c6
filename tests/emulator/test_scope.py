"""Tag filters (monitor scopes and ``tag_filter``): wildcards, negation, boolean operators, IN."""

from __future__ import annotations

import pytest

from provisioner.emulator.scope import ScopeError, parse_tag_filter

SOURCE = frozenset({"env:prod", "reporter:source", "response_flags:UH", "response_code:503", "canary"})


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("*", True),
        ("env:prod", True),
        ("env:dev", False),
        ("env:prod,reporter:source", True),  # a comma is AND
        ("env:prod,reporter:destination", False),
        ("response_code:5*", True),
        ("type:*senderr", False),
        ("response_flags:*H", True),
        ("env:*", True),
        ("canary", True),  # a bare tag
        ("!env:prod", False),
        ("-env:prod", False),
        ("NOT env:dev", True),
        ("reporter:source,(response_flags:UO OR response_flags:UH)", True),
        ("env:prod AND (reporter:destination OR canary)", True),
        ("env:dev OR reporter:source AND canary", True),  # AND binds tighter than OR
        ("response_flags IN (UO, UH)", True),
        ("response_flags NOT IN (UO, UH)", False),
        ("NOT (env:prod AND canary)", False),
    ],
)
def test_filters_match_the_tags_of_a_source(text: str, matches: bool) -> None:
    assert parse_tag_filter(text).matches(SOURCE) is matches


@pytest.mark.parametrize(
    "text", ["(env:prod", "env:prod)", "env:prod AND", "OR env:prod", "key IN UO", "$cluster", "a,,b"]
)
def test_filters_that_cannot_be_matched_are_refused(text: str) -> None:
    with pytest.raises(ScopeError):
        parse_tag_filter(text)
