"""Run the CLI with ``python -m bot``."""

from bot.cli.main import main

main()
