"""The fleet: analyse every repository of an organisation on GitHub Actions' own matrix.

``mendbot fleet plan`` lists an organisation's repositories and splits them into shards of
about equal work (:mod:`bot.fleet.shards`, :mod:`bot.fleet.listing`); each shard is one matrix
job that analyses its repositories read-only; ``mendbot fleet merge`` combines the shards'
reports and bundles into what one sequential run would have written (:mod:`bot.fleet.merge`)
and summarises it per repository (:mod:`bot.fleet.summary`). The fleet never proposes:
proposing stays with each repository's own propose identity.
"""
