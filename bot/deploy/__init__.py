"""The deploy identity: applies merged remediations with short-lived, object-scoped credentials.

Trust boundary: this package never imports the detectors, the workflow model, the knowledge,
the analysis or the propose job (import-linter contracts in ``pyproject.toml``, and a test
that checks what a real process loads), so deployment authority cannot alter what is deployed.

Modules: :mod:`~bot.deploy.applier` (the interface every applier implements),
:mod:`~bot.deploy.lifecycle` (snapshot → precheck → apply → validate → compensate, failing
closed), :mod:`~bot.deploy.appliers` (every applier, by desired-state kind).
"""
