"""The propose identity: verified bundles become one pull request per remediation.

It holds a token that can push a branch and open pull requests, and nothing more. It never
re-derives a fix: it applies only the patch the provenance verifier accepted, and never imports
the detectors, the analysis or the bundle maker (import-linter contracts in ``pyproject.toml``).

Modules: :mod:`~bot.propose.job` (verify, apply, push, open or update),
:mod:`~bot.propose.pr_body` (title, body, labels and commit message of a proposal).
"""
