"""The GitHub Actions workflow model the rules read: jobs, steps, expressions, shells.

Rules live in :mod:`bot.detectors.workflows`, one per file; what they share about workflows is
here: :mod:`~bot.workflow.model` (workflow → jobs → steps), :mod:`~bot.workflow.expression_tree`
and :mod:`~bot.workflow.template_scan` (``${{ … }}``), :mod:`~bot.workflow.matrix` (static matrix
values), :mod:`~bot.workflow.injection_sources` (where a value comes from),
:mod:`~bot.workflow.posix_shell`, :mod:`~bot.workflow.pwsh_shell`,
:mod:`~bot.workflow.shell_quoting` and :mod:`~bot.workflow.code_strings` (what a position of a
script is and how to reference a variable there), :mod:`~bot.workflow.permission_needs` (the
least token permissions a job needs), :mod:`~bot.workflow.versions` (an action's version) and
:mod:`~bot.workflow.dependabot` (the entries of a Dependabot configuration).
"""
