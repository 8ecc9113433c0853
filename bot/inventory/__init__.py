"""The analysis identity's telemetry: read-only inventories written as desired-state files.

``mendbot inventory aws`` reads IAM users and their access keys through a client that exposes
only read calls (:mod:`~bot.inventory.aws_reader`), turns them into the
``aws-iam-access-key`` desired-state model (:mod:`~bot.inventory.aws`), with owners from tags or
CODEOWNERS (:mod:`~bot.inventory.owners`), and writes the file deterministically and atomically
(:mod:`~bot.inventory.render`, :mod:`~bot.inventory.write`); :mod:`~bot.inventory.run` is one
run of the command. The rules that read the files run
in ``mendbot analyze``; the deploy job applies merged changes to them. Neither is imported here.
"""
