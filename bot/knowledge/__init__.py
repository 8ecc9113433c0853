"""Data the rules and fixers need about the outside world, each entry with its reason."""
