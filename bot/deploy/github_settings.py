"""The ``github-settings`` applier: a repository's Actions settings, through GitHub's REST API,
with an installation token narrowed to that repository and ``administration: write``.

Each managed setting lives behind one endpoint (``/repos/{o}/{r}/actions/permissions…``):
``snapshot`` GETs only the endpoints of the target's settings; ``precheck`` compares them with
the pre-image; ``apply`` PUTs only the changed fields; ``validate`` GETs them again;
``compensate`` PUTs the snapshot back and reads it back. Writes go in the order
``allowed_actions`` → ``selected_actions`` → workflow token settings, and compensation in the
reverse order, so the allow list is only ever written while ``allowed_actions`` is
``selected``, whichever way the change goes.

``observe`` (``mendbot deploy observe``, with a freshly minted token of the same scope) GETs the
settings again — a value changed since is drift, reported and never written back — and reads
the workflow runs on the default branch since the deploy (:mod:`bot.deploy.run_history`): a
workflow newly failing is a regression, compensated with the first snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from bot.deploy.applier import (
    Applier,
    DeployContext,
    Grant,
    Observation,
    State,
    Target,
    Validation,
    Verdict,
    Watch,
)
from bot.deploy.github_token import GitHubApi, InstallationToken, mint_installation_token
from bot.deploy.run_history import newly_failing, read_history
from bot.errors import MendbotError
from bot.forge.interface import DeployForge, ForgeError
from bot.risk import Reversibility

#: The one permission this applier's token carries.
PERMISSIONS = {"administration": "write"}


@dataclass(frozen=True)
class _Endpoint:
    """One settings endpoint: its path under the repository and the fields it carries."""

    path: str
    fields: tuple[str, ...]
    carried: tuple[str, ...] = ()
    """Fields the PUT requires but mendbot does not manage: sent back as read."""


_PERMISSIONS = _Endpoint("/actions/permissions", ("allowed_actions",), carried=("enabled",))
_SELECTED = _Endpoint("/actions/permissions/selected-actions", ("selected_actions",))
_WORKFLOW = _Endpoint(
    "/actions/permissions/workflow",
    ("default_workflow_permissions", "can_approve_pull_request_reviews"),
)
#: Write order (compensation writes in reverse).
_ENDPOINTS = (_PERMISSIONS, _SELECTED, _WORKFLOW)
#: Setting name (as in targets) -> its endpoint.
SETTINGS: dict[str, _Endpoint] = {
    f"actions.{name}": endpoint for endpoint in _ENDPOINTS for name in endpoint.fields
}
#: ``owner/name`` as GitHub spells them: nothing that could step out of ``/repos/{o}/{r}``.
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SELECTED_FIELDS = ("github_owned_allowed", "verified_allowed", "patterns_allowed")


class SettingsError(MendbotError):
    """A github-settings target this applier cannot handle: nothing was applied."""

    exit_code = 2


class GithubSettingsApplier(Applier):
    """Repository Actions settings (``.mendbot/desired/github-settings/<owner>--<name>.yml``)."""

    kind: ClassVar[str] = "github-settings"
    reversibility: ClassVar[Reversibility] = Reversibility.REVERSIBLE

    def __init__(
        self,
        repository: str,
        api: GitHubApi,
        forge: DeployForge | None = None,
        merge_sha: str = "",
    ) -> None:
        self._repository = repository
        self._api = api
        self._forge = forge
        """Where the workflow runs are read (``observe``); None: not observable."""
        self._merge_sha = merge_sha

    @classmethod
    def connect(cls, target: Target, context: DeployContext) -> tuple[Self, Grant]:
        """Check the target names only known settings of one repository, the one deployed from
        (on GitHub; a local forge's repository is a URL and names no GitHub repository), then
        mint a token for that repository with ``administration: write`` alone."""
        repository = str(target.location.get("repository", ""))
        if not _REPOSITORY.match(repository) or {".", ".."} & set(repository.split("/")):
            raise SettingsError(
                f"{target.source or 'github-settings target'}: no repository (owner/name) to "
                "apply the settings to",
                advice="the desired-state file's `repository` names it",
            )
        deployed_from = context.repository
        if _REPOSITORY.match(deployed_from) and deployed_from.lower() != repository.lower():
            # The change was reviewed and gated in deployed_from: its reviewers are not the
            # other repository's, even when one App is installed on both.
            raise SettingsError(
                f"{target.source or repository}: the settings are those of {repository}, and "
                f"this deploy job deploys {deployed_from}; nothing was applied",
                advice=f"change {repository}'s settings from {repository}'s own mendbot deploy job",
            )
        unknown = sorted(set(target.objects) - set(SETTINGS))
        if unknown or not target.objects:
            raise SettingsError(
                f"{target.source or repository}: cannot apply {', '.join(unknown) or 'nothing'}"
                f" (known settings: {', '.join(sorted(SETTINGS))})",
                advice="only the Actions settings listed in docs/deploy.md are deployed",
            )
        grant: InstallationToken = mint_installation_token(context, repository, PERMISSIONS)
        return cls(repository, grant.api(), context.forge, context.merge_sha), grant

    # -- the five steps ----------------------------------------------------------------------
    def snapshot(self, target: Target) -> State:
        """GET the endpoints of ``target.objects`` (and no other); their values by name."""
        return self._read(target.objects)

    def precheck(self, target: Target, live: State) -> list[str]:
        """One line per setting whose live value is not the pre-image's."""
        return [
            f"{name} is {_show(live.get(name))} on {self._repository}, the analysis saw "
            f"{_show(target.pre_image.get(name))}"
            for name in target.objects
            if _normal(live.get(name)) != _normal(target.pre_image.get(name))
        ]

    def apply(self, target: Target) -> None:
        """PUT the desired values of ``target.objects`` only."""
        self._write(target.objects, target.desired, _ENDPOINTS)

    def validate(self, target: Target) -> Validation:
        """GET again: passed when every setting reads back as desired."""
        live = self._read(target.objects)
        checks = []
        held = True
        for name in target.objects:
            wanted = target.desired.get(name)
            if _normal(live.get(name)) == _normal(wanted):
                checks.append(f"{name} reads back {_show(wanted)}")
            else:
                held = False
                checks.append(f"{name} reads back {_show(live.get(name))}, not {_show(wanted)}")
        return Validation(Verdict.PASSED if held else Verdict.FAILED, tuple(checks))

    @classmethod
    def watches(cls, target: Target, verdict: Verdict) -> bool:
        """Every settings change that held is watched: its effect shows on later runs."""
        del target
        return verdict is not Verdict.FAILED

    def observe(self, target: Target, watch: Watch) -> Observation:
        """GET the settings (a value not the desired one is drift) and judge the runs since
        the deploy: newly failing is FAILED; otherwise NOT_OBSERVABLE while the window is
        open, PASSED once it has closed."""
        live = self._read(target.objects)
        drift = tuple(
            f"{name} is {_show(live.get(name))} on {self._repository}, the change set "
            f"{_show(target.desired.get(name))}: changed outside mendbot since, not set again"
            for name in target.objects
            if _normal(live.get(name)) != _normal(target.desired.get(name))
        )
        if self._forge is None:
            runs = Validation(Verdict.NOT_OBSERVABLE, ("no forge to read workflow runs from",))
        else:
            try:
                runs = newly_failing(read_history(self._forge, self._merge_sha))
            except ForgeError as exc:
                runs = Validation(
                    Verdict.NOT_OBSERVABLE, (f"the workflow runs could not be read: {exc}",)
                )
        until = watch.window_ends_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if runs.verdict is Verdict.FAILED:
            return Observation(Validation(Verdict.FAILED, runs.checks + drift), drift)
        if drift:
            return Observation(Validation(Verdict.NOT_OBSERVABLE, drift), drift)
        if watch.open:
            # NOTE(deploy): passing runs are summed up without their ids, so a scheduled run
            # that finds the same picture has nothing new to record.
            held = f"{', '.join(target.objects)} read back as set; watched until {until}"
            found: tuple[str, ...] = ("no workflow newly failing since the change",)
            if runs.verdict is not Verdict.PASSED:
                found = runs.checks
            return Observation(Validation(Verdict.NOT_OBSERVABLE, (held, *found)))
        verdict = Verdict.PASSED if runs.verdict is Verdict.PASSED else Verdict.NOT_OBSERVABLE
        return Observation(Validation(verdict, runs.checks))

    def compensate(self, target: Target, snapshot: State) -> None:
        """PUT the snapshot's values back (reverse order), then read them back; raises when
        they do not hold."""
        self._write(target.objects, snapshot, tuple(reversed(_ENDPOINTS)))
        live = self._read(target.objects)
        wrong = [n for n in target.objects if _normal(live.get(n)) != _normal(snapshot.get(n))]
        if wrong:
            raise SettingsError(
                f"{', '.join(wrong)} on {self._repository} did not read back as before the "
                "change after restoring",
                advice="set them by hand in the repository's Settings, Actions, General",
            )

    # -- endpoints ---------------------------------------------------------------------------
    def _read(self, names: tuple[str, ...]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for endpoint in _ENDPOINTS:
            wanted = [name for name in names if SETTINGS.get(name) is endpoint]
            if not wanted:
                continue
            body = self._get(endpoint)
            for name in wanted:
                field = name.removeprefix("actions.")
                if endpoint is _SELECTED:
                    values[name] = {key: body.get(key) for key in _SELECTED_FIELDS}
                else:
                    values[name] = body.get(field)
        return values

    def _write(self, names: tuple[str, ...], values: State, order: tuple[_Endpoint, ...]) -> None:
        for endpoint in order:
            wanted = [name for name in names if SETTINGS.get(name) is endpoint]
            if not wanted:
                continue
            if endpoint is _SELECTED:
                body = {k: v for k, v in dict(values[wanted[0]]).items() if v is not None}
            else:
                body = {name.removeprefix("actions."): values[name] for name in wanted}
            if endpoint.carried:
                current = self._get(endpoint)
                body.update({key: current.get(key) for key in endpoint.carried})
            self._api.request(
                "PUT",
                self._path(endpoint),
                f"set {', '.join(wanted)} of {self._repository}",
                body,
            )

    def _get(self, endpoint: _Endpoint) -> Mapping[str, Any]:
        body = self._api.request(
            "GET", self._path(endpoint), f"read {endpoint.path} of {self._repository}"
        )
        if not isinstance(body, dict):
            raise SettingsError(f"GitHub answered {endpoint.path} with something not an object")
        return body

    def _path(self, endpoint: _Endpoint) -> str:
        return f"/repos/{self._repository}{endpoint.path}"


def _normal(value: Any) -> Any:
    """A value in the form two readings compare equal in (allow-list patterns as a sorted set)."""
    if isinstance(value, Mapping):
        return {
            key: sorted(set(item)) if key == "patterns_allowed" and item is not None else item
            for key, item in value.items()
        }
    return value


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "unset"
    if isinstance(value, str):
        return repr(value)
    return str(_normal(value))
