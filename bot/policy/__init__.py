"""The merge gate: CEL policies evaluated on a deterministic context, failing closed.

Trust boundary: detectors and the YAML engine never import this package (checked by
import-linter in CI).
"""
