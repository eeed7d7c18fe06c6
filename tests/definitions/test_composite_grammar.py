"""The composite query grammar provisioner checks before anything is sent (``definitions/composite.py``)
and the one the emulator evaluates with (``emulator/composite_query.py``, its own parser: the emulator
imports nothing of provisioner) accept the same language: every string of their tokens (and of a few
that are not theirs) is accepted by both or by neither, with the same monitors in the same order."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from provisioner.definitions.composite import CompositeQueryError, composite_monitors
from provisioner.emulator.composite_query import CompositeSyntaxError, parse_composite, referenced_ids
from provisioner.identity import REFERENCE_RE

PIECES = ["1", "23", "456", " ", "  ", "&&", "||", "!", "(", ")", "&", "|", "x", "@{a}", "@{b:ratio}", "-1", "\t"]  # fmt: skip


def _ours(query: str) -> tuple[str, ...] | None:
    try:
        return composite_monitors(query)
    except CompositeQueryError:
        return None


def _emulators(query: str) -> tuple[int, ...] | None:
    try:
        return referenced_ids(parse_composite(query))
    except CompositeSyntaxError:
        return None


def _as_datadog_ids(query: str) -> str:
    """Each ``@{id}`` reference written as a Datadog id, as apply puts them in (900 up, in order)."""
    counter = iter(range(900, 10_000))
    return REFERENCE_RE.sub(lambda _m: f" {next(counter)} ", query)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
@example("1 && !(23 || 456)")
@example("!!1 || (2)")
@example("@{a} && @{b:ratio}")
def test_both_parsers_accept_the_same_queries_and_read_the_same_monitors(query: str) -> None:
    ours = _ours(query)
    emulators = _emulators(_as_datadog_ids(query))
    assert (ours is None) == (emulators is None), (query, ours, emulators)
    if ours is not None and emulators is not None:
        assert [int(m) for m in _as_datadog_ids(" ".join(ours)).split()] == list(emulators)


@pytest.mark.parametrize("query", ["", "1 2", "1 &&", "(1", "1)", "()", "&& 1", "1 & 2", "@{A}", "!"])
def test_what_neither_accepts(query: str) -> None:
    assert _ours(query) is None and _emulators(query) is None


def test_a_hostile_nesting_is_refused_not_a_crash() -> None:
    with pytest.raises(CompositeQueryError, match="nested"):
        composite_monitors("(" * 50_000 + "1" + ")" * 50_000)
