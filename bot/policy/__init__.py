"""The merge gate: CEL policies evaluated on a deterministic context, failing closed.

Trust boundary: detectors and the YAML engine never import this package, and this package never
imports detectors, analysis, deploy or forge code (both checked by import-linter in CI).

Modules: :mod:`~bot.policy.schema` (policy files), :mod:`~bot.policy.engine` (CEL engines),
:mod:`~bot.policy.gate_context` (the context, its schema and digest), :mod:`~bot.policy.windows`
(freeze windows), :mod:`~bot.policy.decide` (the decision), :mod:`~bot.policy.testing` (inline
tests and checks), :mod:`~bot.policy.render` (text output).
"""
