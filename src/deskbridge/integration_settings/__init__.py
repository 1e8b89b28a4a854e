"""The desk's store of integration settings (secrets sealed), switches, entities and their Last Sync / Last Error.

Kept apart from ``integrations/`` (the plugin contract, the pipeline and the plugins, which reach the desk only
through the Desk port): this package is the desk side and works on the database directly.
"""
