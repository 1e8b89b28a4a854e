"""Custom integrations: base URL, authorization, access and proxy, system integration, instance credentials."""
