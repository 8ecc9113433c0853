"""Rules of repository settings, read from the inventory (``mendbot inventory github``): one per
file."""
