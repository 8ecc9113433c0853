"""Units behind gha-template-injection: the expression scanner, context provenance, quoting."""

from __future__ import annotations

import subprocess

import pytest

from bot.detectors.workflows.template_injection import variable_name
from bot.knowledge.contexts import Provenance, built_in_variable, provenance
from bot.workflow.code_strings import code_string_reference
from bot.workflow.posix_shell import Quote, posix_place, posix_quote_state, spliced_variables
from bot.workflow.shell_quoting import javascript_reference, reference, shell_name, shell_reference
from bot.workflow.template_scan import expressions


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
        ("cat <<EOF\nX", Quote.HEREDOC),
        ("cat <<'EOF'\nX", None),
        ('cat <<"EOF"\nX', None),
        ("cat <<EOF\nbody\nEOF\necho X", Quote.NONE),
        ("# it's a comment\necho X", Quote.NONE),
        ('echo "$(cmd "X")"', Quote.DOUBLE),
        ("echo \"$(cmd 'X')\"", Quote.SINGLE),
        ('echo "$(cmd "$(inner X)")"', Quote.NONE),
        ("echo `echo X`", None),
        ("echo $((1 + X))", None),
        ("(( X > 1 ))", None),
        ("[[ X -eq 1 ]]", None),
        ("[[ 1 -lt X ]]", None),
        ('[[ "X" == *WIP* ]]', Quote.DOUBLE),
        ('echo "${A:-X}"', None),
        ("echo $'a X'", None),
    ],
)
def test_posix_quote_state(script: str, state: Quote | None) -> None:
    assert posix_quote_state(script, script.index("X")) is state


@pytest.mark.parametrize(
    ("script", "language"),
    [
        ("python3 -c 'print(\"X\")'", "Python"),
        ('/usr/bin/python3.12 -c "X"', "Python"),
        ('node -e "console.log(X)"', "JavaScript"),
        ("ruby -e 'puts X'", "Ruby"),
        ("perl -e 'print X'", "Perl"),
        ('bash -c "echo X"', "shell"),
        ('sh -ec "X"', "shell"),
        ('eval "echo X"', "shell"),
        ('sudo -E python -c "X"', "Python"),
        ('FOO=1 env python -c "X"', "Python"),
        ('out="$(python3 -c "print(X)")"', "Python"),
        ("python3 -c 'import sys; print(sys.argv[1])' X", None),
        ("bash -c 'echo \"$1\"' _ X", None),
        ("python3 script.py X", None),
        ("echo X", None),
    ],
)
def test_code_strings_are_recognised(script: str, language: str | None) -> None:
    code = posix_place(script, script.index("X")).code
    assert (code[0] if code else None) == language


@pytest.mark.parametrize(
    ("script", "in_list"),
    [
        ("for f in X; do :; done", True),
        ("for f in a X; do :; done", True),
        ("files=(X)", True),
        ("set -- X", True),
        ("echo X", False),
        ('for f in "X"; do :; done', False),
    ],
)
def test_word_lists(script: str, in_list: bool) -> None:
    assert posix_place(script, script.index("X")).in_list is in_list


def test_spliced_variables_are_the_ones_pasted_into_code() -> None:
    script = (
        "python3 -c 'print(\"'\"${TITLE}\"'\")'\n"
        'eval "echo $BODY"\n'
        "bash -c 'echo \"$SAFE\"'\n"
        "python3 -c 'import os; print(os.environ[\"ALSO_SAFE\"])'\n"
        'echo "$PLAIN"\n'
    )
    found = [(v.name, v.language) for v in spliced_variables(script)]
    assert found == [("TITLE", "Python"), ("BODY", "shell")]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        # The value names the command: whoever sets it chooses what runs, so report only.
        ("X merge --no-ff", None),
        ("git fetch\nX merge", None),
        ("if ($a) { X }", None),
        ("Write-Host X", "$env:N"),
        ('Write-Host "a X b"', "$env:N"),
        ('Write-Host "X_suffix"', "${env:N}"),
        ("Write-Host 'X'", None),
        ('Invoke-Expression "Write-Host X"', None),
        ("python -c \"print('X')\"", None),
        ("Write-Host preX", None),
        ("@'\nX\n'@", None),
    ],
)
def test_powershell_references(script: str, expected: str | None) -> None:
    start = script.index("X")
    assert shell_reference("pwsh", script, start, start + 1, "N").text == expected


@pytest.mark.parametrize(
    "script", ["X", "X --version", "make\nX && make", "(X)", "if true; then X; fi", "a=1 X"]
)
def test_posix_command_position_is_never_rewritten(script: str) -> None:
    start = script.index("X")
    ref = shell_reference("bash", script, start, start + 1, "N")
    assert ref.text is None
    assert ref.why is not None and "chooses what runs" in ref.why


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
        None,  # pasted as code: a string from the environment would not do the same
        "('p ' + process.env.X + '')",  # the whole literal, parenthesised
    ]


def test_javascript_reference_reads_where_the_expression_sits_from_the_script_start() -> None:
    """Quotes inside a template literal's text are text, a string inside its ``${…}`` is a
    string, and comments hold no literals: each gets the form that keeps the value data."""
    cases = {
        'const t = `line one\n"${{ x }}" two`;': 'const t = `line one\n"${process.env.X}" two`;',
        'const t = `${"Re: ${{ x }}"}`;': 'const t = `${("Re: " + process.env.X + "")}`;',
        "// it's a comment\nf('${{ x }}')": "// it's a comment\nf(process.env.X)",
        '/* ` */ g("a ${{ x }} b")': '/* ` */ g(("a " + process.env.X + " b"))',
    }
    for script, rewritten in cases.items():
        first = next(expressions(script))
        span = javascript_reference(script, first.start, first.end, "X")
        assert span is not None, script
        assert script[: span[0]] + span[2] + script[span[1] :] == rewritten


def test_javascript_reference_refuses_lines_it_cannot_read() -> None:
    for script in (
        "x = /'/; y('a ${{ x }}')",  # a regular expression holding a quote
        "f('a ${{ x }} ${{ y }}')",  # two expressions in one literal
        "f('a ${{ x }} \\\n b')",  # the literal continues on the next line
        "f('a \\${{ x }}')",  # a quote closing the head would be escaped
        "a = b / 2; f('${{ x }}')",  # a division or a regular expression before it
    ):
        first = next(expressions(script))
        assert javascript_reference(script, first.start, first.end, "X") is None, script


def test_values_written_to_environment_files_are_reported_not_rewritten() -> None:
    script = 'echo "A=${{ x }}" >> "$GITHUB_ENV"\necho "${{ x }}" >> "$GITHUB_OUTPUT"\n'
    first, second = (e.start for e in expressions(script))
    blocked = shell_reference("bash", script, first, first + 8, "X")
    assert blocked.text is None
    assert blocked.why is not None and "$GITHUB_ENV" in blocked.why
    assert shell_reference("bash", script, second, second + 8, "X").text == "${X}"
    spliced = spliced_variables('echo "A=$TITLE" >> "$GITHUB_ENV"\necho "$TITLE"\n')
    assert [(v.name, v.program) for v in spliced] == [("TITLE", "$GITHUB_ENV")]


def test_values_piped_into_an_interpreter_are_code() -> None:
    script = 'echo "echo ${{ x }}" | sh\necho "${{ x }}" | grep sh\n'
    first, second = (e.start for e in expressions(script))
    assert posix_place(script, first).code == ("shell", "| sh")
    assert posix_place(script, second).code is None


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("python3 -c 'print(\"E\")'", 'print(__import__("os").environ["X"])'),
        ("python3 -c \"print('E')\"", "print(__import__('os').environ['X'])"),
        ("node -e 'console.log(\"E\")'", "console.log(process.env.X)"),
        ("ruby -e 'puts \"E\"'", 'puts ENV["X"]'),
        ("perl -e 'print \"E\"'", "print $ENV{X}"),
        ("perl -e \"print 'E'\"", "print \\$ENV{X}"),
        ("bash -c 'echo E'", 'echo "${X}"'),
        ("bash -c 'echo \"E\"'", 'echo "${X}"'),
        ("python3 -c \"print(f'E')\"", None),
        ("python3 -c 'print(\"a E\")'", None),
        ('python3 -c \'print("""E""")\'', None),
        ('bash -c "echo E"', None),
        ("bash -c 'echo \\'E\\''", None),
        ('echo "E" | python3', None),
    ],
)
def test_code_strings_read_the_value_inside_the_language(script: str, expected: str | None) -> None:
    script = script.replace("E", "${{ x }}")
    (found,) = expressions(script)
    ref = code_string_reference(script, found.start, found.end, "X")
    if expected is None:
        assert ref.text is None
        return
    assert ref.text is not None
    start, end = ref.span or (found.start, found.end)
    rewritten = script[:start] + ref.text + script[end:]
    assert expected in rewritten


def test_places_of_many_offsets_take_one_pass() -> None:
    """A 300-line script with 600 variables is scanned once, not once per variable."""
    line = 'echo "$TARGET" && python3 -c "print(1)" "$ARCH" # ${{ x }}\n'
    script = line * 300
    found = spliced_variables(script)
    assert found == []
    assert posix_place(script, script.rindex("$ARCH")).quote is Quote.DOUBLE
