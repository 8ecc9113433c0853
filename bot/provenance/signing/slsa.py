"""A standard SLSA v1 provenance statement over the same subjects, for generic tooling.

Signed next to the remediation attestation when signing keyless, so ``gh attestation verify``
style verifiers recognise the post-image files. mendbot's own checks never rely on it: the
remediation predicate is the claim the gate enforces.
"""

from __future__ import annotations

from typing import Any

from bot.provenance.run_context import RunContext
from bot.provenance.statement import STATEMENT_TYPE, Statement, statement_bytes

SLSA_PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
#: Our build type: "mendbot analysed a commit and produced a remediation".
BUILD_TYPE = "https://github.com/mendbot/mendbot/blob/main/docs/provenance.md#slsa-build-type-v1"
#: builder.id when the run has no workflow identity (local runs).
LOCAL_BUILDER = "https://github.com/mendbot/mendbot#local"


def slsa_statement(statement: Statement, context: RunContext) -> bytes:
    """The SLSA v1 provenance statement (serialised) for ``statement``'s subjects."""
    predicate = statement.predicate
    external: dict[str, Any] = {}
    if context.workflow is not None:
        external["workflow"] = {
            "ref": context.workflow.ref,
            "repository": context.workflow.repository,
            "path": context.workflow.path,
        }
    ref = predicate.base.ref or predicate.base.git_commit
    document: dict[str, object] = {
        "_type": STATEMENT_TYPE,
        "subject": [s.model_dump(mode="json", by_alias=True) for s in statement.subject],
        "predicateType": SLSA_PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": external,
                "internalParameters": {
                    "github": {
                        "event_name": predicate.invocation.event_name,
                        "repository_id": predicate.repository.id,
                        "repository_owner_id": predicate.repository.owner_id,
                    },
                    "mendbot_remediation": {
                        "id": predicate.remediation.id,
                        "fingerprint": predicate.remediation.fingerprint,
                        "predicateType": statement.predicate_type,
                    },
                },
                "resolvedDependencies": [
                    {
                        "uri": f"git+{predicate.repository.uri}@{ref}",
                        "digest": {"gitCommit": predicate.base.git_commit},
                    }
                ],
            },
            "runDetails": {
                "builder": {"id": predicate.generator.id or LOCAL_BUILDER},
                "metadata": {
                    "invocationId": predicate.invocation.id,
                    "startedOn": predicate.created_on,
                },
            },
        },
    }
    return statement_bytes(document)
