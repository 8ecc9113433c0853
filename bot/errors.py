"""One error base whose subclasses explain what went wrong and what to do next."""

from __future__ import annotations


class MendbotError(Exception):
    """Base of every error mendbot reports to a user.

    ``str(error)`` is the one-line summary; :meth:`diagnostics` adds the advice a user needs to
    act on it. The CLI catches this class once and turns it into an exit code.
    """

    exit_code: int = 2
    advice: str = ""

    def __init__(self, message: str, *, advice: str | None = None) -> None:
        super().__init__(message)
        if advice is not None:
            self.advice = advice

    def diagnostics(self) -> str:
        """The message followed by what to do about it, ready to print."""
        text = str(self)
        if self.advice:
            text += f"\n  hint: {self.advice}"
        if self.__cause__ is not None:
            text += f"\n  cause: {self.__cause__}"
        return text


class ConfigError(MendbotError):
    """The configuration file is missing, malformed or names something unknown."""

    advice = "fix the file named above; `mendbot config schema` prints the JSON Schema"


class UsageError(MendbotError):
    """The command line asks for something that cannot be done."""


class InputError(MendbotError):
    """An input file could not be read or parsed; other files are still analysed."""

    exit_code = 3


class WriteError(MendbotError):
    """Fixed files could not be written; every file was restored to its previous content."""

    exit_code = 3
    advice = "check that the files are writable and retry; nothing was changed"


class PolicyError(MendbotError):
    """A gate policy file is unreadable or invalid, or a policy could not be evaluated."""

    advice = "fix the policy file named above; docs/policies.md describes every field"
