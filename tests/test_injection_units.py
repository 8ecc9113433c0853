"""Units behind gha-template-injection: the expression scanner, context provenance, quoting."""

from __future__ import annotations

import subprocess

import pytest

from bot.detectors.workflows.shell_quoting import (
    Quote,
    javascript_reference,
    posix_quote_state,
    reference,
    shell_name,
)
from bot.detectors.workflows.template_injection import variable_name
from bot.detectors.workflows.template_scan import expressions
from bot.knowledge.contexts import Provenance, built_in_variable, provenance


def test_scanner_respects_string_literals_and_stops_at_unterminated() -> None:
    found = list(expressions("a ${{ format('}}{0}', x) }} b ${{ github.sha }} c ${{ open"))
    assert [e.inner for e in found] == ["format('}}{0}', x)", "github.sha"]
    assert found[1].single_context == "github.sha"
    assert found[0].single_context is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("github.event.issue.title", Provenance.ATTACKER),
        ("github.event.commits[0].message", Provenance.ATTACKER),
        ("github.event.pages[3].page_name", Provenance.ATTACKER),
        ("github.event.pull_request.head.repo.full_name", Provenance.ATTACKER),
        ("GitHub.Head_Ref", Provenance.ATTACKER),
        ("inputs.version", Provenance.UNKNOWN),
        ("steps.meta.outputs.tag", Provenance.UNKNOWN),
        ("github.sha", Provenance.TRUSTED),
        ("secrets.TOKEN", Provenance.TRUSTED),
        ("github.event.pull_request.number", Provenance.TRUSTED),
    ],
)
def test_provenance(path: str, expected: Provenance) -> None:
    assert provenance(path) is expected


def test_contexts_inside_functions_are_found() -> None:
    (expr,) = expressions("${{ toJSON(github.event) }}")
    assert "github.event" in expr.contexts()
    assert provenance("github.event") is Provenance.ATTACKER


def test_built_ins_and_names() -> None:
    assert built_in_variable("github.head_ref") == "GITHUB_HEAD_REF"
    assert built_in_variable("github.event.issue.title") is None
    assert variable_name("github.event.issue.title") == "ISSUE_TITLE"
    assert variable_name("steps.meta.outputs.tag") == "STEPS_META_OUTPUTS_TAG"
    assert variable_name("github.event.commits[0]['message']") == "COMMITS_0_MESSAGE"


def test_shell_defaults() -> None:
    assert shell_name(None, ["ubuntu-latest"]) == "bash"
    assert shell_name(None, ["windows-2022"]) == "pwsh"
    assert shell_name("/usr/bin/bash -e {0}", []) == "bash"


@pytest.mark.parametrize(
    ("script", "state"),
    [
        ('echo "a X', Quote.DOUBLE),
        ("echo 'a X", Quote.SINGLE),
        ("echo 'a' X", Quote.NONE),
        ('echo "it\\"s X', Quote.DOUBLE),
        ("echo \"a 'b' X", Quote.DOUBLE),
        ("cat <<EOF\nX", None),
        ("# it's a comment\necho X", Quote.NONE),
    ],
)
def test_posix_quote_state(script: str, state: Quote | None) -> None:
    assert posix_quote_state(script, script.index("X")) is state


@pytest.mark.parametrize(
    "template",
    ['echo "pre ${{ x }} post"', "echo 'pre ${{ x }} post'", "echo pre${{ x }}post"],
)
def test_bash_rewrite_reads_the_value_as_data(template: str) -> None:
    """Run the rewritten script in a real bash: a hostile value is printed, never executed."""
    start = template.index("${{")
    end = template.index("}}") + 2
    ref = reference("bash", template, start, "VALUE")
    assert ref is not None
    script = template[:start] + ref + template[end:]
    hostile = "a b'\"; echo INJECTED; #$(echo SUB)"
    out = subprocess.run(
        ["bash", "-c", script],
        env={"VALUE": hostile, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    expected = f"pre {hostile} post\n" if " post" in template else f"pre{hostile}post\n"
    assert out == expected
    assert "INJECTED\n" not in out.replace(hostile, "")


def test_javascript_reference_forms() -> None:
    script = "const a = '${{ x }}'; const b = `t ${{ x }}`; f(${{ x }}); g('p ${{ x }}')"
    spans = [javascript_reference(script, e.start, e.end, "X") for e in expressions(script)]
    assert [s[2] if s else None for s in spans] == [
        "process.env.X",
        "${process.env.X}",
        "process.env.X",
        None,
    ]
