"""Format-preserving YAML editing: route-addressed operations applied by guarded splices.

Public surface: the operations (:mod:`bot.yamledit.ops`), :func:`apply_operations` and, for the
operation groups of several independent fixes, :func:`apply_together`; the result values
:class:`Edited` / :class:`Together` / :class:`Unfixable`, and :class:`YamlDocument` for reading
positions.
"""
