"""Rules of non-human identities, read from the inventory (``mendbot inventory``): one per file."""
