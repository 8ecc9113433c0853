"""Every rule mendbot ships, one line each: workflow rules, then desired-state rules."""

from __future__ import annotations

from pydantic import BaseModel

from bot.detectors.desired_rule import DesiredStateRule
from bot.detectors.interface import Rule, WorkflowRule
from bot.detectors.nhi.inactive_access_key import InactiveAccessKey
from bot.detectors.nhi.key_without_owner import KeyWithoutOwner
from bot.detectors.nhi.undefined_secret import UndefinedSecret
from bot.detectors.nhi.unused_access_key import UnusedAccessKey
from bot.detectors.nhi.unused_secret import UnusedSecret
from bot.detectors.nhi.write_deploy_key import WriteDeployKey
from bot.detectors.settings.actions_can_approve_prs import ActionsCanApprovePrs
from bot.detectors.settings.default_token_write import DefaultTokenWrite
from bot.detectors.workflows.adhoc_packages import AdhocPackages
from bot.detectors.workflows.anonymous_definition import AnonymousDefinition
from bot.detectors.workflows.archived_uses import ArchivedUses
from bot.detectors.workflows.cache_poisoning import CachePoisoning
from bot.detectors.workflows.concurrency_limits import ConcurrencyLimits
from bot.detectors.workflows.dangerous_triggers import DangerousTriggers
from bot.detectors.workflows.dependabot_actions import DependabotActions
from bot.detectors.workflows.dependabot_cooldown import DependabotCooldown
from bot.detectors.workflows.dependabot_execution import DependabotExecution
from bot.detectors.workflows.excessive_permissions import ExcessivePermissions
from bot.detectors.workflows.forbidden_uses import ForbiddenUses
from bot.detectors.workflows.github_app import GitHubApp
from bot.detectors.workflows.github_env import GithubEnv
from bot.detectors.workflows.hardcoded_container_credentials import HardcodedContainerCredentials
from bot.detectors.workflows.impostor_commit import ImpostorCommit
from bot.detectors.workflows.insecure_commands import InsecureCommands
from bot.detectors.workflows.insecure_url_scheme import InsecureUrlScheme
from bot.detectors.workflows.job_permissions import JobPermissions
from bot.detectors.workflows.known_vulnerable_actions import KnownVulnerableActions
from bot.detectors.workflows.misfeature import Misfeature
from bot.detectors.workflows.missing_permissions import MissingPermissions
from bot.detectors.workflows.obfuscation import Obfuscation
from bot.detectors.workflows.overprovisioned_secrets import OverprovisionedSecrets
from bot.detectors.workflows.persist_credentials import PersistCredentials
from bot.detectors.workflows.ref_confusion import RefConfusion
from bot.detectors.workflows.ref_version_mismatch import RefVersionMismatch
from bot.detectors.workflows.secrets_inherit import SecretsInherit
from bot.detectors.workflows.secrets_outside_env import SecretsOutsideEnv
from bot.detectors.workflows.self_hosted_runner import SelfHostedRunner
from bot.detectors.workflows.self_repository import SelfRepository
from bot.detectors.workflows.spoofable_bot_check import SpoofableBotCheck
from bot.detectors.workflows.stale_action_refs import StaleActionRefs
from bot.detectors.workflows.static_cloud_credentials import StaticCloudCredentials
from bot.detectors.workflows.superfluous_actions import SuperfluousActions
from bot.detectors.workflows.template_injection import TemplateInjection
from bot.detectors.workflows.typosquat_uses import TyposquatUses
from bot.detectors.workflows.undocumented_permissions import UndocumentedPermissions
from bot.detectors.workflows.unknown_suppression import UnknownSuppression
from bot.detectors.workflows.unpinned_images import UnpinnedImages
from bot.detectors.workflows.unpinned_tools import UnpinnedTools
from bot.detectors.workflows.unpinned_uses import UnpinnedUses
from bot.detectors.workflows.unredacted_secrets import UnredactedSecrets
from bot.detectors.workflows.unsafe_checkout import UnsafeCheckout
from bot.detectors.workflows.unsound_condition import UnsoundCondition
from bot.detectors.workflows.unsound_contains import UnsoundContains
from bot.detectors.workflows.unsound_ternary import UnsoundTernary
from bot.detectors.workflows.use_trusted_publishing import UseTrustedPublishing

RULES: tuple[type[WorkflowRule], ...] = (
    PersistCredentials,
    InsecureCommands,
    JobPermissions,
    ExcessivePermissions,
    MissingPermissions,
    UnpinnedUses,
    RefConfusion,
    RefVersionMismatch,
    ImpostorCommit,
    StaleActionRefs,
    ArchivedUses,
    KnownVulnerableActions,
    UnpinnedImages,
    TemplateInjection,
    UnsoundCondition,
    DependabotCooldown,
    DependabotActions,
    DangerousTriggers,
    SecretsInherit,
    HardcodedContainerCredentials,
    SelfHostedRunner,
    SpoofableBotCheck,
    CachePoisoning,
    StaticCloudCredentials,
    GithubEnv,
    UnsoundContains,
    OverprovisionedSecrets,
    UnredactedSecrets,
    UseTrustedPublishing,
    UnsoundTernary,
    SecretsOutsideEnv,
    SelfRepository,
    UnpinnedTools,
    AdhocPackages,
    Misfeature,
    Obfuscation,
    DependabotExecution,
    AnonymousDefinition,
    ConcurrencyLimits,
    GitHubApp,
    SuperfluousActions,
    UndocumentedPermissions,
    ForbiddenUses,
    InsecureUrlScheme,
    TyposquatUses,
    UnsafeCheckout,
    UnknownSuppression,
)

#: Rules of desired-state files (the inventory of non-human identities).
DESIRED_STATE_RULES: tuple[type[DesiredStateRule], ...] = (
    UnusedAccessKey,
    InactiveAccessKey,
    KeyWithoutOwner,
    UnusedSecret,
    UndefinedSecret,
    WriteDeployKey,
    DefaultTokenWrite,
    ActionsCanApprovePrs,
)
#: Every rule, workflow rules first: what ``mendbot rules``, the docs and reports list.
ALL_RULES: tuple[type[Rule], ...] = (*RULES, *DESIRED_STATE_RULES)


def rule_options() -> dict[str, type[BaseModel] | None]:
    """Each rule id mapped to the pydantic model of its options (for the config loader)."""
    return {rule.id: rule.options_model for rule in ALL_RULES}


def rule_ids() -> list[str]:
    """The ids of every shipped rule, in registry order."""
    return [rule.id for rule in ALL_RULES]


def get_rule(rule_id: str) -> type[Rule] | None:
    """The rule class with ``rule_id``, if one exists."""
    return next((rule for rule in ALL_RULES if rule.id == rule_id), None)
