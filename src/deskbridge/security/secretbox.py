"""Encryption of secrets at rest: AES-256-GCM, with the purpose bound in as associated data.

A sealed value reads ``v1.<nonce>.<ciphertext>`` (url-safe base64). The associated data ties a ciphertext to what it
protects (for instance ``integration:syncro:api_key``), so a value copied into another row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from deskbridge.exceptions import ConfigurationError

__all__ = ["SecretBox"]

_PREFIX = "v1."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SecretBox:
    """Seals and opens secrets with one 32-byte key."""

    def __init__(self, key: bytes) -> None:
        """Use ``key`` (32 bytes) for sealing and opening."""
        self._aead = AESGCM(key)
        self._key = key

    def export_key(self) -> bytes:
        """The key itself, to hand to a child process of this one over a private channel, and nowhere else."""
        return self._key

    def seal(self, plaintext: str, *, purpose: str) -> str:
        """Encrypt ``plaintext`` for ``purpose``."""
        nonce = os.urandom(12)
        ct = self._aead.encrypt(nonce, plaintext.encode(), purpose.encode())
        return f"{_PREFIX}{_b64(nonce)}.{_b64(ct)}"

    def open(self, sealed: str, *, purpose: str) -> str:
        """Decrypt a value made by :meth:`seal` for the same ``purpose``."""
        try:
            version, nonce, ct = sealed.split(".")
            if version + "." != _PREFIX:
                raise ValueError(version)
            return self._aead.decrypt(_unb64(nonce), _unb64(ct), purpose.encode()).decode()
        except (ValueError, InvalidTag):
            raise ConfigurationError(
                f"a stored secret ({purpose}) cannot be decrypted: the secret key is not the one it was sealed with"
            ) from None

    def derive(self, purpose: str) -> bytes:
        """Derive an independent 32-byte key for ``purpose`` (e.g. signing access tokens)."""
        return hmac.new(self._key, b"deskbridge:" + purpose.encode(), hashlib.sha256).digest()
