"""The sticky body: marker first, and never over GitHub's limit, whatever the text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provisioner.errors import UserError
from provisioner.github.body import GITHUB_BODY_LIMIT, compose, github_length, marker_tag

URL = "https://github.com/acme/mesh-monitors/actions/runs/1/artifacts/2"


def test_short_text_is_kept_whole_under_the_marker() -> None:
    assert compose("provisioner-plan", "## Plan\n\nNo changes.\n") == (
        "<!-- provisioner-plan -->\n## Plan\n\nNo changes.\n"
    )


def test_footer_follows_the_text() -> None:
    assert compose("m", "text", footer="<sub>run</sub>") == "<!-- m -->\ntext\n\n<sub>run</sub>"


@pytest.mark.parametrize("bad", ["", "a b", "x-->", "a--b", "-a", "a" * 101, "<!--"])
def test_a_marker_that_could_break_the_html_comment_is_refused(bad: str) -> None:
    with pytest.raises(UserError, match="invalid marker"):
        marker_tag(bad)


def test_a_200000_character_plan_is_cut_under_the_limit_with_a_note_and_the_artifact_link() -> None:
    row = "| update | monitor | checkout-error-rate | `options.thresholds.critical` 0.05 → 0.02 |\n"
    text = "## Plan\n\n" + row * (200_000 // len(row) + 1)
    assert len(text) > 200_000

    body = compose("provisioner-plan", text, URL)

    assert github_length(body) <= GITHUB_BODY_LIMIT
    assert body.startswith("<!-- provisioner-plan -->\n## Plan\n")
    assert "Cut to fit GitHub's limit of 65,536 characters" in body
    assert f"of {len(text):,} characters" in body
    assert f"[Download the full text]({URL})" in body
    kept = body.split("\n\n---\n> [!WARNING]")[0]
    assert kept.endswith(row), "the cut ends at a line break, not inside a table row"
    assert github_length(body) > GITHUB_BODY_LIMIT - 5_000, "the cut keeps as much as fits"


def test_a_cut_without_an_artifact_url_says_where_the_full_text_is() -> None:
    body = compose("m", "x" * 70_000)
    assert github_length(body) <= GITHUB_BODY_LIMIT
    assert "kept as a build artifact of this workflow run" in body


def test_a_code_block_left_open_by_the_cut_is_closed_before_the_note() -> None:
    text = "```diff\n" + "- old\n+ new\n" * 20_000
    body = compose("m", text, URL)
    before_note = body.split("\n\n---\n")[0]
    assert before_note.endswith("\n```")
    assert sum(line.startswith("```") for line in before_note.splitlines()) % 2 == 0


def test_characters_outside_the_basic_plane_count_twice_as_github_may_count_them() -> None:
    text = "🚨 drift\n" * 20_000  # 9 code points, 10 UTF-16 units per line
    body = compose("m", text, URL)
    assert github_length(body) <= GITHUB_BODY_LIMIT
    assert github_length(body) > len(body)


def test_the_footer_survives_the_cut() -> None:
    body = compose("m", "y\n" * 50_000, URL, footer="<sub>Last written by run 42</sub>")
    assert body.endswith("<sub>Last written by run 42</sub>")
    assert github_length(body) <= GITHUB_BODY_LIMIT


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(["a", "\n", "`", "é", "🚨", "|", " "]), max_size=3_000),
    limit=st.integers(min_value=600, max_value=3_000),
    url=st.one_of(st.none(), st.just(URL)),
)
def test_any_text_fits_any_limit_and_is_either_whole_or_marked_as_cut(
    text: str, limit: int, url: str | None
) -> None:
    body = compose("provisioner-plan", text, url, limit=limit)
    assert github_length(body) <= limit
    assert body.startswith("<!-- provisioner-plan -->\n")
    whole = "<!-- provisioner-plan -->\n" + text
    assert body == whole or (github_length(whole) > limit and "Cut to fit GitHub's limit" in body)
