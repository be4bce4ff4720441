"""Providers: the services that carry a channel's messages (the sandbox, HTTP webhooks, ...)."""
