"""Secrets at rest: Fernet encryption with key rotation (MultiFernet).

ENCRYPTION_KEY may hold several comma-separated keys; the first encrypts, all decrypt, so a new
key can be put in front and everything re-encrypted at leisure.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretUnreadable(RuntimeError):
    """A stored secret cannot be decrypted with any configured key."""


class Vault:
    def __init__(self, keys: str):
        self._fernet = MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as error:
            raise SecretUnreadable("stored secret cannot be decrypted with ENCRYPTION_KEY") from error

    def rotate(self, token: str) -> str:
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as error:
            raise SecretUnreadable("a stored secret cannot be decrypted with any key in ENCRYPTION_KEY") from error


def vault() -> Vault:
    from flask import current_app

    cached = current_app.extensions.get("vault")
    if cached is None:
        cached = current_app.extensions["vault"] = Vault(current_app.config["ENCRYPTION_KEY"])
    return cached


def last_four(secret: str) -> str:
    """How a secret is shown back: never more than its last four characters."""
    return "••••" + secret[-4:] if len(secret) > 8 else "••••"
