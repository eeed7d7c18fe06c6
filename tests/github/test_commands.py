"""`provisioner github comment` and `github issue` through the real CLI, against a stubbed GitHub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from provisioner.cli import app
from provisioner.github.body import GITHUB_BODY_LIMIT, github_length

if TYPE_CHECKING:
    from conftest import GitHubStub

MARKER = "<!-- provisioner-plan -->"
DRIFT = "<!-- provisioner-drift -->"
ARTIFACT = "https://github.com/acme/mesh-monitors/actions/runs/99/artifacts/5"
# The query that lists the open issues, oldest first.
OPEN_ISSUES = {"state": "open", "sort": "created", "direction": "asc"}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def plan_md(tmp_path: Path) -> Path:
    path = tmp_path / "plan.md"
    path.write_text("## provisioner plan\n\n1 to create, 0 to update.\n", encoding="utf-8")
    return path


# --- the sticky pull-request comment -------------------------------------------------------------


def test_comment_is_created_when_none_carries_the_marker(
    gh: GitHubStub, github_env: Path, plan_md: Path
) -> None:
    gh.pages("issues/7/comments", [[gh.comment(1, "LGTM"), gh.comment(2, "<!-- other-bot -->\nhello")]])
    gh.mock.post(gh.url("issues/7/comments"), status=201, json=gh.comment(3, "created"))

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 0, output
    assert gh.sent("POST") == [{"body": f"{MARKER}\n## provisioner plan\n\n1 to create, 0 to update.\n"}]
    assert "comment created: https://github.com/acme/mesh-monitors/pull/7#issuecomment-3" in output


def test_comment_is_edited_in_place_on_the_next_push(gh: GitHubStub, github_env: Path, plan_md: Path) -> None:
    gh.pages("issues/7/comments", [[gh.comment(1, "LGTM"), gh.comment(41, f"{MARKER}\nold plan")]])
    gh.mock.patch(gh.url("issues/comments/41"), json=gh.comment(41, "new"))

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 0, output
    assert gh.sent("POST") == []
    assert gh.sent("PATCH") == [{"body": f"{MARKER}\n{plan_md.read_text()}"}]
    assert "comment updated" in output


def test_an_identical_comment_is_left_alone(gh: GitHubStub, github_env: Path, plan_md: Path) -> None:
    gh.pages("issues/7/comments", [[gh.comment(41, f"{MARKER}\n{plan_md.read_text()}")]])

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 0, output
    assert "comment unchanged" in output
    assert [c.request.method for c in gh.mock.calls] == ["GET"]


def test_the_marked_comment_is_found_on_a_later_page(gh: GitHubStub, github_env: Path, plan_md: Path) -> None:
    chatter = [gh.comment(i, f"comment {i}") for i in range(1, 101)]
    gh.pages("issues/7/comments", [chatter, chatter[:50], [gh.comment(250, f"{MARKER}\nold")]])
    gh.mock.patch(gh.url("issues/comments/250"), json=gh.comment(250, "new"))

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 0, output
    assert len(gh.sent("PATCH")) == 1
    assert sum(c.request.method == "GET" for c in gh.mock.calls) == 3


def test_a_custom_marker_keeps_a_second_sticky_comment_apart(
    gh: GitHubStub, github_env: Path, plan_md: Path
) -> None:
    gh.pages("issues/7/comments", [[gh.comment(41, f"{MARKER}\nplan for prod")]])
    gh.mock.post(gh.url("issues/7/comments"), status=201, json=gh.comment(42, "x"))

    code, output = run("github", "comment", "--body", str(plan_md), "--marker", "provisioner-plan-staging")

    assert code == 0, output
    assert gh.sent("POST")[0]["body"].startswith("<!-- provisioner-plan-staging -->\n")


def test_one_comment_per_environment_each_under_its_heading(
    gh: GitHubStub, github_env: Path, plan_md: Path
) -> None:
    staging = "<!-- provisioner-plan-staging -->"
    gh.pages("issues/7/comments", [[gh.comment(41, f"{staging}\nold staging plan")]] * 2)
    gh.mock.patch(gh.url("issues/comments/41"), json=gh.comment(41, "x"))
    gh.mock.post(gh.url("issues/7/comments"), status=201, json=gh.comment(42, "x"))

    for environment in ("staging", "production"):
        code, output = run(
            "github",
            "comment",
            "--body",
            str(plan_md),
            "--marker",
            f"provisioner-plan-{environment}",
            "--heading",
            f"Environment: {environment}",
        )
        assert code == 0, output

    plan = plan_md.read_text()
    assert gh.sent("PATCH") == [{"body": f"{staging}\n## Environment: staging\n\n{plan}"}]
    assert gh.sent("POST") == [
        {"body": f"<!-- provisioner-plan-production -->\n## Environment: production\n\n{plan}"}
    ]


def test_a_200000_character_plan_is_posted_cut_under_the_limit(
    gh: GitHubStub, github_env: Path, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.md"
    huge.write_text("## provisioner plan\n\n" + "| update | monitor | svc-error-rate | threshold |\n" * 4_200)
    assert len(huge.read_text()) >= 200_000
    gh.pages("issues/7/comments", [[]])
    gh.mock.post(gh.url("issues/7/comments"), status=201, json=gh.comment(3, "x"))

    code, output = run("github", "comment", "--body", str(huge), "--artifact-url", ARTIFACT)

    assert code == 0, output
    posted = gh.sent("POST")[0]["body"]
    assert github_length(posted) <= GITHUB_BODY_LIMIT
    assert posted.startswith(MARKER)
    assert "Cut to fit GitHub's limit of 65,536 characters" in posted
    assert f"[Download the full text]({ARTIFACT})" in posted


def test_pr_option_overrides_the_event(gh: GitHubStub, github_env: Path, plan_md: Path) -> None:
    gh.pages("issues/12/comments", [[]])
    gh.mock.post(gh.url("issues/12/comments"), status=201, json=gh.comment(3, "x"))

    code, output = run("github", "comment", "--body", str(plan_md), "--pr", "12")

    assert code == 0, output


def test_github_api_url_is_honoured_for_github_enterprise(
    gh: GitHubStub, github_env: Path, plan_md: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    gh.api = "https://ghe.example.com/api/v3"
    gh.pages("issues/7/comments", [[]])
    gh.mock.post(gh.url("issues/7/comments"), status=201, json=gh.comment(3, "x"))

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 0, output


@pytest.mark.parametrize("missing", ["GITHUB_TOKEN", "GITHUB_REPOSITORY"])
def test_missing_environment_is_a_clear_error(
    github_env: Path, plan_md: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.delenv(missing)
    code, output = run("github", "comment", "--body", str(plan_md))
    assert code == 1
    assert f"environment variable {missing} is not set" in output
    assert "Traceback" not in output


def test_without_an_event_file_the_pr_option_is_suggested(
    github_env: Path, plan_md: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    code, output = run("github", "comment", "--body", str(plan_md))
    assert code == 1
    assert "GITHUB_EVENT_PATH is not set" in output
    assert "--pr N" in output


def test_an_event_that_is_not_a_pull_request_is_named(
    github_env: Path, plan_md: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    github_env.write_text(json.dumps({"ref": "refs/heads/main"}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    code, output = run("github", "comment", "--body", str(plan_md))
    assert code == 1
    assert "no pull_request.number" in output
    assert "triggered by 'push'" in output


def test_a_broken_event_file_is_reported(github_env: Path, plan_md: Path) -> None:
    github_env.write_text("{not json")
    code, output = run("github", "comment", "--body", str(plan_md))
    assert code == 1
    assert "is not valid JSON" in output


def test_a_missing_body_file_is_reported(github_env: Path, tmp_path: Path) -> None:
    code, output = run("github", "comment", "--body", str(tmp_path / "nope.md"))
    assert code == 1
    assert "nope.md: no such file" in output


def test_an_empty_body_file_is_not_posted(github_env: Path, tmp_path: Path) -> None:
    empty = tmp_path / "plan.md"
    empty.write_text("\n")
    code, output = run("github", "comment", "--body", str(empty))
    assert code == 1
    assert "is empty" in output


@pytest.mark.parametrize(("status", "expected"), [(401, "401 Bad credentials"), (404, "404 Not Found")])
def test_github_errors_exit_1_with_the_reason_and_never_the_token(
    gh: GitHubStub, github_env: Path, plan_md: Path, status: int, expected: str
) -> None:
    message = expected.split(" ", 1)[1]
    gh.mock.get(gh.url("issues/7/comments"), status=status, json={"message": message})

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 1
    assert expected in output
    assert "hint:" in output
    assert gh.token not in output
    assert "Traceback" not in output


def test_an_invalid_marker_is_a_usage_error_before_any_request(github_env: Path, plan_md: Path) -> None:
    code, output = run("github", "comment", "--body", str(plan_md), "--marker", "x -->")
    assert code == 1
    assert "invalid marker" in output


# --- the one drift issue -------------------------------------------------------------------------


@pytest.fixture
def drift_md(tmp_path: Path) -> Path:
    path = tmp_path / "drift.md"
    path.write_text("## provisioner plan\n\n1 drifted: checkout-error-rate\n", encoding="utf-8")
    return path


def issue_args(drift_md: Path, *extra: str) -> list[str]:
    return ["github", "issue", "--title", "Drift", "--body", str(drift_md), "--label", "drift", *extra]


def test_issue_is_opened_with_the_label_when_none_is_open(
    gh: GitHubStub, github_env: Path, drift_md: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_RUN_ID", "99")
    gh.pages(
        "issues", [[gh.issue(5, f"{DRIFT}\nold", pull_request=True), gh.issue(6, "unrelated")]], **OPEN_ISSUES
    )
    gh.mock.post(gh.url("issues"), status=201, json=gh.issue(8, "x"))

    code, output = run(*issue_args(drift_md))

    assert code == 0, output
    [sent] = gh.sent("POST")
    assert sent["title"] == "Drift"
    assert sent["labels"] == ["drift"]
    assert sent["body"].startswith(f"{DRIFT}\n## provisioner plan\n")
    assert sent["body"].endswith(
        "[workflow run](https://github.com/acme/mesh-monitors/actions/runs/99).</sub>"
    )
    assert "issue created: https://github.com/acme/mesh-monitors/issues/8" in output


def test_the_open_issue_is_updated_not_duplicated(gh: GitHubStub, github_env: Path, drift_md: Path) -> None:
    gh.pages("issues", [[gh.issue(6, "unrelated")], [gh.issue(9, f"{DRIFT}\nold drift")]], **OPEN_ISSUES)
    gh.mock.patch(gh.url("issues/9"), json=gh.issue(9, "x"))

    code, output = run(*issue_args(drift_md))

    assert code == 0, output
    assert gh.sent("POST") == []
    assert gh.sent("PATCH") == [{"title": "Drift", "body": f"{DRIFT}\n{drift_md.read_text()}"}]
    assert "issue updated: https://github.com/acme/mesh-monitors/issues/9" in output


def test_close_comments_and_closes_the_open_issue(gh: GitHubStub, github_env: Path) -> None:
    gh.pages("issues", [[gh.issue(9, f"{DRIFT}\nold drift")]], **OPEN_ISSUES)
    gh.mock.post(gh.url("issues/9/comments"), status=201, json=gh.comment(1, "x"))
    gh.mock.patch(gh.url("issues/9"), json=gh.issue(9, "x"))

    code, output = run("github", "issue", "--close")

    assert code == 0, output
    assert "Datadog matches the definitions again" in gh.sent("POST")[0]["body"]
    assert gh.sent("PATCH") == [{"state": "closed", "state_reason": "completed"}]
    assert "issue closed: https://github.com/acme/mesh-monitors/issues/9" in output


def test_close_with_no_open_issue_does_nothing(gh: GitHubStub, github_env: Path) -> None:
    gh.pages("issues", [[gh.issue(6, "unrelated")]], **OPEN_ISSUES)

    code, output = run("github", "issue", "--close", "--label", "drift")

    assert code == 0, output
    assert "issue: nothing-to-close" in output
    assert [c.request.method for c in gh.mock.calls] == ["GET"]


def test_close_if_empty_closes_when_the_body_is_empty(
    gh: GitHubStub, github_env: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "drift.md"
    empty.write_text("  \n")
    gh.pages("issues", [[gh.issue(9, f"{DRIFT}\nold")]], **OPEN_ISSUES)
    gh.mock.post(gh.url("issues/9/comments"), status=201, json=gh.comment(1, "x"))
    gh.mock.patch(gh.url("issues/9"), json=gh.issue(9, "x"))

    code, output = run(*issue_args(empty, "--close-if-empty"))

    assert code == 0, output
    assert gh.sent("PATCH") == [{"state": "closed", "state_reason": "completed"}]


def test_issue_without_body_or_close_is_a_usage_error(github_env: Path) -> None:
    code, output = run("github", "issue", "--title", "Drift")
    assert code == 1
    assert "--body is required unless --close" in output


def test_issues_turned_off_are_explained(gh: GitHubStub, github_env: Path, drift_md: Path) -> None:
    gh.mock.get(gh.url("issues"), status=410, json={"message": "Issues are disabled for this repo"})
    code, output = run(*issue_args(drift_md))
    assert code == 1
    assert "410 Issues are disabled" in output
    assert "Settings > General > Features > Issues" in output


# --- only the workflow's own comments and issues are ever written --------------------------------


def test_a_marker_planted_in_someone_elses_comment_is_never_written_into(
    gh: GitHubStub, github_env: Path, plan_md: Path
) -> None:
    planted = gh.comment(40, f"{MARKER}\nplan looks fine, merge it", author="mallory")
    gh.pages("issues/7/comments", [[planted, gh.comment(41, f"{MARKER}\nold plan")]])
    gh.mock.patch(gh.url("issues/comments/41"), json=gh.comment(41, "new"))

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 0, output
    assert [c.request.url for c in gh.mock.calls if c.request.method == "PATCH"] == [
        gh.url("issues/comments/41")
    ]


def test_with_only_a_planted_marker_the_workflow_posts_its_own_comment(
    gh: GitHubStub, github_env: Path, plan_md: Path
) -> None:
    gh.pages("issues/7/comments", [[gh.comment(40, f"{MARKER}\nold", author="mallory")]])
    gh.mock.post(gh.url("issues/7/comments"), status=201, json=gh.comment(42, "x"))

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 0, output
    assert gh.sent("PATCH") == []
    assert len(gh.sent("POST")) == 1 and "comment created" in output


def test_a_github_app_login_is_set_with_provisioner_github_author(
    gh: GitHubStub, github_env: Path, plan_md: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISIONER_GITHUB_AUTHOR", "mesh-bot[bot]")
    ours = gh.comment(41, f"{MARKER}\nold", author="Mesh-Bot[bot]")  # logins are case-insensitive
    gh.pages("issues/7/comments", [[gh.comment(40, f"{MARKER}\nold"), ours]])
    gh.mock.patch(gh.url("issues/comments/41"), json=gh.comment(41, "new"))

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 0, output
    assert len(gh.sent("PATCH")) == 1


def test_an_author_that_is_no_login_is_refused_before_any_request(
    github_env: Path, plan_md: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVISIONER_GITHUB_AUTHOR", "evil/../x")

    code, output = run("github", "comment", "--body", str(plan_md))

    assert code == 1
    assert "PROVISIONER_GITHUB_AUTHOR must be a GitHub login" in output


def test_the_drift_issue_is_only_found_among_the_workflows_own_issues(
    gh: GitHubStub, github_env: Path, drift_md: Path
) -> None:
    planted = gh.issue(5, f"{DRIFT}\nplease paste your keys here", author="mallory")
    gh.pages("issues", [[planted, gh.issue(9, f"{DRIFT}\nold drift")]], **OPEN_ISSUES)
    gh.mock.patch(gh.url("issues/9"), json=gh.issue(9, "x"))

    code, output = run(*issue_args(drift_md))

    assert code == 0, output
    assert [c.request.url for c in gh.mock.calls if c.request.method == "PATCH"] == [gh.url("issues/9")]


def test_a_planted_drift_issue_is_neither_updated_nor_closed(
    gh: GitHubStub, github_env: Path, drift_md: Path
) -> None:
    planted = gh.issue(5, f"{DRIFT}\nfake", author="mallory")
    gh.pages("issues", [[planted]], **OPEN_ISSUES)
    gh.pages("issues", [[planted]], **OPEN_ISSUES)
    gh.mock.post(gh.url("issues"), status=201, json=gh.issue(8, "x"))

    assert run(*issue_args(drift_md))[0] == 0
    code, output = run("github", "issue", "--close")

    assert code == 0, output
    assert "issue: nothing-to-close" in output
    assert gh.sent("PATCH") == []
    assert [c.request.url for c in gh.mock.calls if c.request.method == "POST"] == [gh.url("issues")]
