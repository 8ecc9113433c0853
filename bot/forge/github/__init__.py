"""GitHub: a client (authentication, retries, git), the propose job's side (pulls) and the
gate's side (decisions), combined in :class:`~bot.forge.github.forge.GitHubForge`."""
