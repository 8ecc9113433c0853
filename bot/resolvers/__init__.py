"""Online lookups the analysis makes for the pinning rules: action refs and image digests.

Both resolvers cache on disk (:mod:`~bot.resolvers.disk_cache`) and honour ``--offline``. Only
the analysis identity uses them: the gate and the deploy job never resolve a ref.
"""
