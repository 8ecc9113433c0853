"""gha-typosquat-uses and gha-unsafe-checkout through the real command, on files on disk: the
attacks each rule exists for, the look-alikes that are not attacks, and bad configuration."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.detectors.lookalike_names import LookalikeIndex, owner_lookalike, skeleton
from bot.knowledge.popular_actions import parse_popular_actions, popular_actions
from clirun import run_mendbot
from testpaths import TESTS

REAL = TESTS / "corpus" / "real"
ZIZMOR = TESTS / "corpus" / "zizmor"


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _analyze(root: Path, *args: str, target: str = ".") -> tuple[int, list[dict[str, Any]], str]:
    result = run_mendbot("analyze", target, "--offline", "--format", "json", *args, cwd=root)
    assert "Traceback" not in result.stderr, result.stderr
    findings: list[dict[str, Any]] = (
        json.loads(result.stdout)["findings"] if result.stdout.strip() else []
    )
    return result.returncode, findings, result.stderr


# --------------------------------------------------------------------------- typosquats

SQUATTED = """\
on: push
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actlons/checkout@v4
      - uses: pypi/gh-action-pypi-publish@release/v1
        with:
          password: ${{ secrets.PYPI_TOKEN }}
"""


def test_a_squatted_owner_is_reported_naming_the_real_action_and_nothing_is_rewritten(
    tmp_path: Path,
) -> None:
    workflow = _write(tmp_path, ".github/workflows/release.yml", SQUATTED)
    code, findings, _ = _analyze(tmp_path, "--fix=all", "--rule", "gha-typosquat-uses")
    assert code == 1
    assert workflow.read_bytes() == SQUATTED.encode()  # report only: a person says what was meant
    assert [(f["line"], f["severity"], f["fix"]) for f in findings] == [
        (7, "high", None),
        (8, "high", None),
    ]
    assert "`actions/checkout`" in findings[0]["message"]
    assert "`pypa/gh-action-pypi-publish`" in findings[1]["message"]
    assert "allow" in findings[0]["no_fix_reason"]


def test_no_uses_of_the_real_world_corpus_is_taken_for_a_typosquat(tmp_path: Path) -> None:
    code, findings, _ = _analyze(REAL, "--rule", "gha-typosquat-uses")
    assert code == 0
    assert findings == []
    # The corpus does exercise the rule: it has hundreds of `uses:` of listed actions.
    uses = [
        line
        for path in REAL.rglob("*.y*ml")
        for line in path.read_text("utf-8", errors="replace").splitlines()
        if re.search(r"uses:\s*['\"]?[\w.-]+/[\w.-]+@", line)
    ]
    assert len(uses) > 1000


def test_zizmors_typosquat_cases_are_reported_and_its_non_squats_are_not() -> None:
    rule = ("--rule", "gha-typosquat-uses")
    code, findings, _ = _analyze(ZIZMOR, *rule, target="typosquat-uses.yml")
    assert code == 1
    assert [f["line"] for f in findings] == [17, 20, 23, 26, 29]


def test_an_own_action_can_be_protected_and_an_intended_look_alike_allowed(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        ".github/workflows/deploy.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: my-0rg/deploy@v1\n      - uses: dokcer/login-action@v3\n",
    )
    _write(
        tmp_path,
        ".github/mendbot.yml",
        "rules:\n  gha-typosquat-uses:\n    options:\n"
        "      popular: [my-org/deploy]\n      allow: [dokcer/login-action]\n",
    )
    code, findings, _ = _analyze(tmp_path, "--rule", "gha-typosquat-uses")
    assert code == 1
    assert [(f["line"], "`my-org/deploy`" in f["message"]) for f in findings] == [(6, True)]


def test_a_bad_option_is_a_clear_error_naming_the_setting(tmp_path: Path) -> None:
    workflow = _write(tmp_path, ".github/workflows/ci.yml", SQUATTED)
    _write(
        tmp_path,
        ".github/mendbot.yml",
        "rules:\n  gha-typosquat-uses:\n    options:\n      allow: [just-an-owner]\n",
    )
    result = run_mendbot(
        "analyze", ".", "--offline", "--fix=all", "--rule", "gha-typosquat-uses", cwd=tmp_path
    )
    assert result.returncode not in (0, 1)
    assert "Traceback" not in result.stderr
    assert "gha-typosquat-uses" in result.stderr and "just-an-owner" in result.stderr
    assert workflow.read_bytes() == SQUATTED.encode()


@pytest.mark.parametrize(
    ("candidate", "how"),
    [
        ("action", "leaves out a character of"),
        ("actionss", "repeats a character of"),
        ("actionz", "changes one character of"),
        ("cations", "swaps two characters of"),
        ("actlons", "uses look-alike characters for"),
        ("acti0ns", "uses look-alike characters for"),
        ("actions-checkout", "joins the owner and the repository names of"),
        ("checkout_actions", "joins the owner and the repository names of"),
    ],
)
def test_each_kind_of_look_alike_owner_is_named(candidate: str, how: str) -> None:
    assert owner_lookalike(candidate, "actions", "checkout") == how


def test_owners_that_are_not_near_misses_are_left_alone() -> None:
    assert owner_lookalike("actions", "actions", "checkout") is None
    assert owner_lookalike("my-org", "actions", "checkout") is None
    assert owner_lookalike("kq", "ko", "setup-ko") is None  # too short for a one-typo match
    assert owner_lookalike("astral_sh", "astral-sh", "setup-uv") == "changes the separators of"
    assert skeleton("Rn-1cro_soft") == skeleton("microsoft")


def test_the_shipped_list_parses_and_no_listed_action_imitates_another() -> None:
    names = popular_actions()
    assert len(names) >= 500
    index = LookalikeIndex(names)
    assert [n for n in names if index.resembles(*n.split("/", 1))] == []
    assert "actions/checkout" in names and "docker/login-action" in names


def test_a_malformed_list_entry_names_its_line() -> None:
    with pytest.raises(ValueError, match=r"popular_actions.txt:3: 'checkout' is not owner/repo"):
        parse_popular_actions("# header\nactions/checkout\ncheckout\n")


# --------------------------------------------------------------------------- unsafe checkouts

CALLEE = """\
on: workflow_call
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
          persist-credentials: false
      - run: make test
"""


def _caller(trigger: str, target: str = "./.github/workflows/callee.yml") -> str:
    return f"on: {trigger}\npermissions: {{}}\njobs:\n  call:\n    uses: {target}\n"


def test_a_reusable_workflow_a_pull_request_target_caller_runs_is_a_pwn_request(
    tmp_path: Path,
) -> None:
    callee = _write(tmp_path, ".github/workflows/callee.yml", CALLEE)
    _write(tmp_path, ".github/workflows/pr.yml", _caller("pull_request_target"))
    rules = ("--rule", "gha-unsafe-checkout", "--rule", "gha-dangerous-triggers")
    code, findings, _ = _analyze(tmp_path, "--fix=all", *rules)
    assert code == 1
    assert callee.read_bytes() == CALLEE.encode()
    [finding] = findings
    assert (finding["rule"], finding["path"], finding["line"]) == (
        "gha-unsafe-checkout",
        ".github/workflows/callee.yml",
        9,
    )
    assert (finding["severity"], finding["confidence"]) == ("high", "high")
    assert "`.github/workflows/pr.yml` runs it on `pull_request_target`" in finding["message"]


def test_the_same_reusable_workflow_under_pull_request_callers_only_is_not_reported(
    tmp_path: Path,
) -> None:
    _write(tmp_path, ".github/workflows/callee.yml", CALLEE)
    _write(tmp_path, ".github/workflows/pr.yml", _caller("pull_request"))
    code, findings, _ = _analyze(tmp_path, "--rule", "gha-unsafe-checkout")
    assert (code, findings) == (0, [])


def test_a_composite_action_checking_out_the_pull_request_is_followed_to_its_callers(
    tmp_path: Path,
) -> None:
    _write(
        tmp_path,
        ".github/actions/pr-build/action.yml",
        "name: pr build\nruns:\n  using: composite\n  steps:\n"
        "    - uses: actions/checkout@v4\n      with:\n"
        "        ref: refs/pull/${{ github.event.number }}/merge\n"
        "    - run: npm ci\n      shell: bash\n",
    )
    _write(
        tmp_path,
        ".github/workflows/label.yml",
        "on: workflow_run\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: ./.github/actions/pr-build\n",
    )
    code, findings, _ = _analyze(tmp_path, "--rule", "gha-unsafe-checkout")
    assert code == 1
    assert [(f["path"], f["line"], f["severity"]) for f in findings] == [
        (".github/actions/pr-build/action.yml", 7, "high")
    ]


OPT_OUT = """\
on: pull_request_target
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - id: pr
        run: echo "sha=$(gh pr view "$PR" --json headRefOid -q .headRefOid)" >> "$GITHUB_OUTPUT"
        env:
          PR: ${{ github.event.number }}
      - uses: actions/checkout@v7
        with:
          ref: ${{ steps.pr.outputs.sha }}
          allow-unsafe-pr-checkout: true
      - run: npm test
  known:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v7
        with:
          ref: ${{ github.event.pull_request.head.sha }}
          allow-unsafe-pr-checkout: true
      - run: npm test
"""


def test_switching_off_checkouts_refusal_is_reported_once_per_checkout(tmp_path: Path) -> None:
    workflow = _write(tmp_path, ".github/workflows/test.yml", OPT_OUT)
    rules = ("--rule", "gha-unsafe-checkout", "--rule", "gha-dangerous-triggers")
    code, findings, _ = _analyze(tmp_path, "--fix=all", *rules)
    assert code == 1
    assert workflow.read_bytes() == OPT_OUT.encode()  # a person's opt-out is never overwritten
    lines = [(f["rule"], f["line"]) for f in findings]
    assert ("gha-unsafe-checkout", 14) in lines  # the untraced ref: the opt-out says it is a PR's
    assert ("gha-dangerous-triggers", 21) in lines  # the known head: that rule's, not twice
    assert ("gha-unsafe-checkout", 22) not in lines
    assert len({line for _, line in lines}) == len(lines)


def test_the_opt_out_in_a_workflow_no_privileged_event_starts_is_not_reported(
    tmp_path: Path,
) -> None:
    _write(tmp_path, ".github/workflows/test.yml", OPT_OUT.replace("pull_request_target", "push"))
    code, findings, _ = _analyze(tmp_path, "--rule", "gha-unsafe-checkout")
    assert (code, findings) == (0, [])


def test_no_unsafe_checkout_in_the_real_world_corpus() -> None:
    code, findings, _ = _analyze(REAL, "--rule", "gha-unsafe-checkout")
    assert (code, findings) == (0, [])
