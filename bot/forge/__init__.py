"""Forges (a local git forge, GitHub): the only code that holds a token able to open PRs.

Trust boundary: detectors and the YAML engine never import this package (checked by
import-linter in CI).
"""
