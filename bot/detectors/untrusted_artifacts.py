"""Artifacts a ``workflow_run`` downloads from the run that triggered it, and steps that run them.

The triggering run may be a pull request's: whatever it uploaded is the pull request author's
output. Reading it as data (publishing an HTML report, posting a diff) hands nothing over;
running it (a script in it, a build in its folder) runs the author's code with the privileged
workflow's secrets and token.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from bot.workflow.model import Job, Step

#: Actions that download another run's artifacts, and the input naming the run (None: the
#: action finds the run itself, e.g. by the triggering commit).
DOWNLOADERS: dict[str, str | None] = {
    "actions/download-artifact": "run-id",
    "dawidd6/action-download-artifact": None,
}
_TRIGGERING_RUN = re.compile(r"github\.event\.workflow_run\.(?:id|head_sha)", re.IGNORECASE)
_GH_RUN_DOWNLOAD = re.compile(r"\bgh\s+run\s+download\b")
_FENCE = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
#: Programs whose first file argument is a script they run.
_INTERPRETERS = frozenset(
    {"bash", "sh", "zsh", "source", ".", "python", "python3", "node", "ruby", "perl", "pwsh"}
)
#: Options after which an interpreter runs code from the command line or a module, not a file.
_INLINE = frozenset({"-c", "-e", "-m", "--eval", "-Command", "-command"})


@dataclass(frozen=True)
class Download:
    """A step that puts the triggering run's artifacts in the workspace."""

    step: Step
    folder: str
    """Where they land, relative to the workspace, without ``./``; ``""`` for its root."""


def artifact_folder(raw: object) -> str:
    """The folder a download lands in, relative to the workspace ("" for the workspace)."""
    text = str(raw or "").strip()
    while text.startswith("./"):
        text = text[2:]
    return text.rstrip("/") if text not in ("", ".") else ""


def triggering_run_downloads(job: Job) -> list[Download]:
    """The steps of ``job`` that download artifacts of the run that triggered the workflow."""
    found: list[Download] = []
    for step in job.steps:
        uses = step.uses
        if uses is not None and uses.slug in DOWNLOADERS:
            run_input = DOWNLOADERS[uses.slug]
            if run_input is not None and not _TRIGGERING_RUN.search(
                str(step.with_.get(run_input, ""))
            ):
                continue  # this run's own artifacts, uploaded by an earlier job
            found.append(Download(step, artifact_folder(step.with_.get("path"))))
        elif step.run is not None and _GH_RUN_DOWNLOAD.search(step.run):
            if _TRIGGERING_RUN.search(step.run):
                match = re.search(r"(?:-D|--dir)[ =](\S+)", step.run)
                found.append(Download(step, artifact_folder(match.group(1) if match else "")))
    return found


def _inside(word: str, folder: str) -> bool:
    """Whether the path ``word`` names a file in ``folder`` (the workspace root when empty)."""
    path = artifact_folder(word)
    if not path or path.startswith(("/", "$", "~", "-")):
        return False
    if not folder:
        return "/" in word or "." in path
    return path == folder or path.startswith(folder + "/")


def _words(line: str) -> list[str]:
    try:
        return shlex.split(_FENCE.sub("x", line), comments=True)
    except ValueError:
        return line.split()


def runs_from(step: Step, folder: str, executes: Callable[[Step], str | None]) -> str | None:
    """How ``step`` runs a file of ``folder``, or None when it does not.

    A local action there, a command that is a file there, an interpreter given a script
    there, or a build (``executes``) whose working directory is there.
    """
    uses = step.uses
    if uses is not None:
        if uses.local and _inside(uses.raw, folder):
            return f"runs the action {uses.raw} from the artifact"
        return None
    if step.run is None:
        return None
    directory = step.data.get("working-directory")
    if isinstance(directory, str) and _inside(directory + "/x", folder):
        found = executes(step)
        if found is not None:
            return f"{found} in the artifact's folder"
    for line in step.run.splitlines():
        for command in re.split(r"&&|\|\||[;|]", line):
            words = _words(command)
            while words and words[0] in ("sudo", "exec", "time"):
                words = words[1:]
            if not words:
                continue
            head = words[0]
            if head.startswith(("./", "../")) or "/" in head:
                if _inside(head, folder):
                    return f"runs `{head}` from the artifact"
                continue
            if head in _INTERPRETERS and not _INLINE.intersection(words[1:]):
                script = next((w for w in words[1:] if not w.startswith("-")), None)
                if script is not None and _inside(script, folder):
                    return f"runs `{head} {script}` from the artifact"
    return None
