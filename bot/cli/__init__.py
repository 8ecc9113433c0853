"""The ``mendbot`` command line: one module per identity, loaded only when its command runs."""
