"""``mendbot gate``: decide whether a pull request may merge, and say so on the forge.

The gate is its own identity: it reads the pull request, verifies the committed attestation
with the provenance verifier, builds the policy context, loads the policies **from the default
branch** (never from the pull request) and reports one decision (a commit status, a sticky
comment, a label and a decision record). It never checks out or runs pull request code, never
imports the code that infers fixes (import-linter contract) and never merges by itself.

Modules: :mod:`~bot.gate.base_branch` (files read from the default branch's tip),
:mod:`~bot.gate.owners` (CODEOWNERS), :mod:`~bot.gate.reverts` (exact reverts of bot changes),
:mod:`~bot.gate.attestation` (provenance of the pull request), :mod:`~bot.gate.build` (the
context), :mod:`~bot.gate.publish` (status, comment, record), :mod:`~bot.gate.run` (the job).
"""
