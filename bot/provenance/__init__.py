"""Provenance: remediation statements, signers, bundle folders and the verifier.

Public surface (everything else is internal): :func:`verify_bundle` and
:func:`verify_attestation` (used by ``mendbot verify``, the policy gate and the deploy job),
the trust kinds :class:`KeyTrust`, :class:`SigstoreTrust` and :class:`UnsafeAcceptUnsigned`,
the signers, and :func:`write_bundle`.

Trust boundary: this package never imports the forge, policy or deploy code, nor the detectors
or analysis that infer fixes (import-linter contracts in ``pyproject.toml``): the verifier the
deploy job runs cannot be influenced by the code that proposed the change.
"""
