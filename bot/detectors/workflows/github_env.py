"""``gha-github-env``: an outsider's data written to ``$GITHUB_ENV`` or ``$GITHUB_PATH``.

A value written as ``NAME=value`` to ``$GITHUB_ENV`` becomes an environment variable of every
later step; a newline in the value starts another line, so whoever chooses the value can set
any variable (``LD_PRELOAD``, ``BASH_ENV``, ``NODE_OPTIONS``) and run code in the next step,
with the job's token and secrets. ``$GITHUB_PATH`` puts directories in front of ``PATH``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from bot.detectors.interface import Detection, WorkflowRule
from bot.knowledge.contexts import Provenance
from bot.models import Confidence, Severity
from bot.risk import Disposition
from bot.workflow.environment_writes import EnvironmentWrite, environment_writes
from bot.workflow.matrix import runs_on_choices
from bot.workflow.model import Step
from bot.workflow.posix_shell import POSIX_SHELLS, Quote, posix_place
from bot.workflow.run_starters import exposed
from bot.workflow.shell_quoting import shell_name
from bot.yamledit.document import Scalar
from bot.yamledit.ops import Operation, Replace, RewriteFragment

#: ``echo "NAME=value" >> "$GITHUB_ENV"`` alone on its line: the one form the fix rewrites.
_SIMPLE_WRITE = re.compile(
    r"""^(?P<indent>[ \t]*)echo[ \t]+"(?P<name>[A-Za-z_]\w*)=(?P<value>[^"\\`]*)"[ \t]*"""
    r"""(?P<redirect>>>?[ \t]*(?:"\$\{?GITHUB_ENV\}?"|\$\{?GITHUB_ENV\}?))[ \t]*$"""
)
_DELIMITER = "MENDBOT_EOF"
_RANDOM_DELIMITER = (
    f'{_DELIMITER}="ghadelimiter_$(dd if=/dev/urandom bs=15 count=1 status=none | base64)"'
)

FIX_REASON = (
    "the value is written between a random heredoc delimiter, so a newline in it can no "
    "longer add variables; the variable still holds the outsider's text for later steps, and "
    "the line now needs `dd` and `base64` on the runner: review it"
)

_WHO = {
    Provenance.ATTACKER: "an outsider chooses",
    Provenance.OUTSIDE_TEXT: "the step reads from where outsiders write",
    Provenance.CALLER: "a caller mendbot cannot see chooses",
    Provenance.UNKNOWN: "mendbot cannot trace",
}


def _shells(step: Step) -> set[str]:
    """``posix``, ``pwsh`` and/or ``cmd``: the shell families the step may run under."""
    if step.shell and "${{" not in step.shell:
        names = {shell_name(step.shell, [])}
    else:
        choices = runs_on_choices(step.job) or [[]]
        names = {shell_name(None, labels) for labels in choices}
    families = set()
    for name in names:
        if name in POSIX_SHELLS:
            families.add("posix")
        elif name in ("pwsh", "powershell"):
            families.add("pwsh")
        elif name == "cmd":
            families.add("cmd")
    return families


def _block_scalar(node: object) -> bool:
    return isinstance(node, Scalar) and node.style in ("|", ">")


def heredoc_rewrite(script: str, write: EnvironmentWrite) -> str | None:
    """The line that writes the same ``NAME=value`` with a random heredoc delimiter, or None
    when ``write`` is not a lone ``echo "NAME=value" >> $GITHUB_ENV`` a rewrite keeps."""
    match = _SIMPLE_WRITE.match(write.line)
    if match is None or write.file != "GITHUB_ENV" or script.count(write.line) != 1:
        return None
    place = posix_place(script, write.offset + len(match["indent"]))
    before = script[: write.offset].rstrip("\r\n")
    if place.quote is not Quote.NONE or before.endswith("\\"):
        return None
    # One `{ …; }` group replaces one command: valid wherever the command was (after `&&`,
    # inside `if`), and the redirection applies to the whole group as it did to the echo.
    return (
        f"{match['indent']}{{ {_RANDOM_DELIMITER}; "
        f'echo "{match["name"]}<<${_DELIMITER}"; '
        f"printf '%s\\n' \"{match['value']}\"; "
        f'echo "${_DELIMITER}"; }} {match["redirect"]}'
    )


class GithubEnv(WorkflowRule):
    """Report outsiders' data written to ``$GITHUB_ENV``/``$GITHUB_PATH`` in exposed runs."""

    id: ClassVar[str] = "gha-github-env"
    title: ClassVar[str] = "outsider's data written to GITHUB_ENV or GITHUB_PATH"
    description: ClassVar[str] = (
        "A line written to `$GITHUB_ENV` sets an environment variable for every later step of "
        "the job; a newline inside the value starts a new line, so whoever chooses the value "
        "sets any variable they like (`BASH_ENV`, `LD_PRELOAD`, `NODE_OPTIONS`) and runs code "
        "in the next step, with the job's token and secrets. `$GITHUB_PATH` puts their "
        "directory in front of `PATH`. mendbot reports such writes in runs an outsider's event "
        "can start (`pull_request_target`, `workflow_run`, issues, comments; a composite "
        "action used by such a workflow), when the value comes from somewhere mendbot cannot "
        "show trusted: each variable is traced through the script's assignments, the step's "
        "`env:` and the runner's variables, and command substitutions by what they read "
        "(`gh pr view`, the event payload, commit messages are outsiders' text). Bash `>>`/`>` "
        "and `tee`, PowerShell `>>`, `Out-File`, `Add-Content`, `Set-Content`, `Tee-Object`, "
        "and cmd `>> %GITHUB_ENV%` are read; the heredoc form with a random delimiter "
        "(`NAME<<$EOF`, `EOF` from `/dev/urandom`) is safe and not reported. Severity is "
        "**high** for values an outsider chooses, **medium** (low confidence) for values "
        "mendbot cannot trace.\n\n"
        'The fix rewrites a lone `echo "NAME=$VALUE" >> $GITHUB_ENV` into the heredoc form '
        "with a random delimiter, in one `{ …; }` group so it stays one command. **Unsafe**: "
        "the variable still carries the outsider's text to later steps, and the line now needs "
        "`dd` and `base64`. Other forms (several values, `tee`, PowerShell) are reported with "
        "the advice; a `$GITHUB_PATH` write is reported only, since that file has no "
        "delimiter form (each line is a directory); `${{ … }}` written there is "
        "`gha-template-injection`'s.\n\n"
        "Compared with zizmor's `github-env`: zizmor reports every write that is not a literal "
        "`echo` in workflows triggered by `pull_request_target` or `workflow_run` and in every "
        "composite action, whatever is written; mendbot also covers the other outsider "
        "events, skips values it traces to the repository (`$GITHUB_SHA`, `$(date)`, a literal "
        "assigned above) and the random-delimiter heredoc, and reads composite actions only "
        "when an exposed workflow of the repository uses them. zizmor proposes no fix."
    )
    default_severity: ClassVar[Severity] = Severity.HIGH
    fix_disposition: ClassVar[Disposition | None] = Disposition.UNSAFE
    example_before: ClassVar[str] = """\
on: pull_request_target
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "TITLE=$TITLE" >> "$GITHUB_ENV"
        env:
          TITLE: ${{ github.event.pull_request.title }}
"""
    example_after: ClassVar[str] = example_before.replace(
        'echo "TITLE=$TITLE" >> "$GITHUB_ENV"',
        "{ " + _RANDOM_DELIMITER + '; echo "TITLE<<$MENDBOT_EOF"; '
        'printf \'%s\\n\' "$TITLE"; echo "$MENDBOT_EOF"; } >> "$GITHUB_ENV"',
    )

    def visit_step(self, step: Step) -> Iterator[Detection]:
        """Check the environment-file writes of a ``run:`` step in an exposed run."""
        script = step.run
        if script is None or "GITHUB_" not in script or not exposed(step.workflow):
            return
        families = _shells(step)
        if len(families) != 1:
            return  # no shell mendbot reads, or a matrix that mixes them
        family = next(iter(families))
        shell = {"posix": "bash"}.get(family, family)
        seen: set[str] = set()
        for write in environment_writes(step, script, shell):
            if write.line in seen:
                continue
            seen.add(write.line)
            yield self._detection(step, script, write, family)

    def _detection(
        self, step: Step, script: str, write: EnvironmentWrite, family: str
    ) -> Detection:
        high = write.origin in (Provenance.ATTACKER, Provenance.OUTSIDE_TEXT)
        what = "an environment variable" if write.file == "GITHUB_ENV" else "a PATH entry"
        finding = self.finding(
            step.workflow,
            (*step.route, "run"),
            f"`{write.line.strip()}` writes {write.variable or 'a value'}, which "
            f"{_WHO[write.origin]}, to ${write.file}: a newline in it adds {what} for the "
            "later steps (`BASH_ENV`, `LD_PRELOAD` run code)",
            evidence=write.line.strip(),
            severity=Severity.HIGH if high else Severity.MEDIUM,
            confidence=Confidence.HIGH if high else Confidence.LOW,
        )
        rewritten = heredoc_rewrite(script, write) if family == "posix" else None
        if rewritten is None:
            return Detection(finding, None, self._advice(write))
        route = (*step.route, "run")
        # A plain or quoted scalar is replaced whole, so the engine can choose a quoting
        # that holds `{`, quotes and `#`; a block scalar is edited in place.
        patch: Operation = (
            Replace(route=route, value=rewritten.strip())
            if not _block_scalar(step.workflow.doc.lookup(route))
            else RewriteFragment(route=route, fragment=write.line, replacement=rewritten)
        )
        fix = self.fix(
            finding, "write the value with a random heredoc delimiter: " + FIX_REASON, [patch]
        )
        return Detection(finding, fix)

    @staticmethod
    def _advice(write: EnvironmentWrite) -> str:
        if write.file == "GITHUB_PATH":
            return (
                "`$GITHUB_PATH` has no safe form to rewrite to: each line is a directory put "
                "in front of `PATH` (there is no delimiter, so a newline adds another), and a "
                "directory an outsider chooses runs their programs in the later steps; write "
                "only directories the workflow creates, by hand"
            )
        return (
            'mendbot rewrites only a lone `echo "NAME=$VALUE" >> $GITHUB_ENV`; write this '
            "value as `NAME<<$EOF` … `$EOF` with a random `EOF` (`dd if=/dev/urandom bs=15 "
            "count=1 status=none | base64`), or pass it as a step output, by hand"
        )
