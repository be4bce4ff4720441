"""Consent: whom we may message, on which channel, for which kind of message."""
