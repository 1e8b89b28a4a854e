"""The key for secrets at rest: parsing, generating, and the 0600 key file."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from deskbridge.exceptions import ConfigurationError

__all__ = ["KEY_FILE_NAME", "generate_key", "load_or_create_key", "parse_key"]

KEY_FILE_NAME = "deskbridge.key"


def generate_key() -> str:
    """Return a new random key in the form ``DESKBRIDGE_SECRET_KEY`` takes (32 bytes, url-safe base64)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def parse_key(text: str) -> bytes:
    """Decode a key; raise ``ValueError`` naming the expected form when it is not 32 bytes of url-safe base64."""
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("must be 32 bytes in url-safe base64 (make one with `deskbridge keygen`)")
    return raw


def load_or_create_key(path: Path) -> bytes:
    """Read the key file at ``path``, creating it with mode 0600 when it does not exist."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigurationError(f"cannot create key file {path}: {exc.strerror}") from None
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_key() + "\n")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigurationError(f"cannot read key file {path}: {exc.strerror}") from None
    try:
        return parse_key(text)
    except ValueError as exc:
        raise ConfigurationError(f"key file {path}: {exc}") from None
