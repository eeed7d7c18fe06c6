"""The token diff of a long one-line value: it loses nothing that changed, and elides only what did not."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.report.value_diff import CONTEXT_CHARS, ELLIPSIS, token_pieces

QUERY_TEXT = st.text(alphabet="abc019.:{},() >_*", max_size=300)


@settings(max_examples=200, deadline=None)
@given(QUERY_TEXT, QUERY_TEXT)
def test_without_elision_the_pieces_are_both_values(old: str, new: str) -> None:
    pieces = token_pieces(old, new, context=10**6)
    assert "".join(p.text for p in pieces if p.side != "new") == old
    assert "".join(p.text for p in pieces if p.side != "old") == new


@settings(max_examples=200, deadline=None)
@given(QUERY_TEXT, QUERY_TEXT)
def test_changes_are_whole_and_unchanged_runs_short(old: str, new: str) -> None:
    whole = token_pieces(old, new, context=10**6)
    pieces = token_pieces(old, new)
    assert [(p.text, p.side) for p in pieces if p.side != "same"] == [
        (p.text, p.side) for p in whole if p.side != "same"
    ]
    for piece in pieces:
        if piece.side == "same" and ELLIPSIS in piece.text and ELLIPSIS not in old + new:
            assert len(piece.text) <= 2 * CONTEXT_CHARS + len(ELLIPSIS)


def test_a_threshold_in_a_long_query() -> None:
    old = "sum(last_5m):sum:trace.envoy.proxy.errors{env:prod,service:checkout}.as_count() > 0.05"
    pieces = token_pieces(old, old.replace("0.05", "0.08"))
    assert [(p.text, p.side) for p in pieces] == [
        ("…env:prod,service:checkout}.as_count() > ", "same"),
        ("0.05", "old"),
        ("0.08", "new"),
    ]
