"""The analysis identity: read workflows, run the rules, plan fixes, write signed bundles.

It runs with a read-only checkout (plus ``id-token: write`` only to sign) and never holds a
token that can push, open pull requests or deploy: nothing here imports the forges, the gate or
the deploy job (import-linter contracts in ``pyproject.toml``).

Modules: :mod:`~bot.analyze.inputs` (which files, read safely), :mod:`~bot.analyze.checkouts`
(named paths and the repositories they belong to), :mod:`~bot.analyze.pipeline` (rules and fix
rounds), :mod:`~bot.analyze.plan` (fixes grouped into remediations),
:mod:`~bot.analyze.fix_writer` (fixed files written all-or-nothing),
:mod:`~bot.analyze.bundles` (one signed bundle per remediation).
"""
