"""Run the CLI with ``python -m bot``."""

from bot.cli.app import main

main()
