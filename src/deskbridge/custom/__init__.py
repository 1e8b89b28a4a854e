"""Custom integrations: the certificate store and (later) integrations, methods and runbooks, on top of ``http/``."""
