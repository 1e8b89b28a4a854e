"""Custom integrations, on top of the outbound engine ``http/``.

``certificates/`` is the certificate store; ``integrations/`` holds the integrations (connection, authorization,
instance credentials, tokens, the OAuth redirect); ``methods/`` the methods, their test runs and the call log.
"""
