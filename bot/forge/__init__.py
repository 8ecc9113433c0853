"""Forges (a local git forge, GitHub): the only code that holds a token able to open PRs.

Trust boundary: detectors and the YAML engine never import this package, and this package never
imports the code that infers fixes (import-linter contracts in ``pyproject.toml``): the propose
job applies only what the provenance verifier accepted.
"""
