"""GitHub Actions workflow rules (ids start with ``gha-``)."""
