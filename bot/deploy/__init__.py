"""The deploy job: applies merged remediations with short-lived credentials.

Trust boundary: this package never imports the detectors or the analysis that inferred a fix,
so deployment authority cannot alter what is deployed (checked by import-linter in CI).
"""
