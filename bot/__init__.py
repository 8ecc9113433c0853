"""mendbot: attributable, reviewable, reversible security remediation."""

__version__ = "0.1.0"
