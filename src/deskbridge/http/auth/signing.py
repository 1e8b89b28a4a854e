"""Body-signing methods: ``sign_body_secret`` (HMAC-SHA256) and ``sign_body_x509`` (RSA private key).

Both sign the exact bytes sent (never a re-serialisation), optionally prefixed with a timestamp for the secret
method (``<timestamp>.<body>``, the Stripe / Standard Webhooks shape), and put the signature in a configurable header
in a configurable encoding. The x509 method also sends the certificate's id so the server knows which public key to
verify with. ``cryptography`` does the signing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Generator
from typing import Literal

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import SecretStr

from deskbridge.exceptions import ConfigurationError
from deskbridge.security.redact import register_secret

__all__ = ["Encoding", "SignBodySecretAuth", "SignBodyX509Auth", "X509Algorithm", "encode", "load_private_key"]

Encoding = Literal["hex", "base64", "base64url"]
X509Algorithm = Literal["rsa-sha256", "ps256"]


def encode(raw: bytes, encoding: Encoding) -> str:
    """Return ``raw`` as hex, base64 or unpadded url-safe base64."""
    if encoding == "hex":
        return raw.hex()
    if encoding == "base64":
        return base64.b64encode(raw).decode()
    if encoding == "base64url":
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")
    raise ConfigurationError(f"unknown encoding {encoding!r}; expected one of ['base64', 'base64url', 'hex']")


def _header_name(name: str, what: str) -> str:
    if not name or any(ch in name for ch in "\r\n: "):
        raise ConfigurationError(f"{what} {name!r} is not a valid header name")
    return name


def load_private_key(pem: SecretStr | str, password: SecretStr | str | None = None) -> rsa.RSAPrivateKey:
    """Load an RSA private key from PEM (PKCS#1 or PKCS#8, encrypted when ``password`` is given).

    Raises:
        ConfigurationError: The text is not an RSA private key PEM, or the password is wrong. The message never
            holds key material.
    """
    text = pem.get_secret_value() if isinstance(pem, SecretStr) else pem
    secret = password.get_secret_value() if isinstance(password, SecretStr) else password
    try:
        key = serialization.load_pem_private_key(text.encode(), password=secret.encode() if secret else None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        reason = "wrong or missing password" if "password" in str(exc).lower() else "not a PEM private key"
        raise ConfigurationError(f"the private key cannot be loaded: {reason}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError(f"the private key is a {type(key).__name__.lstrip('_')}; an RSA key is needed")
    return key


class SignBodySecretAuth(httpx.Auth):
    """HMAC-SHA256 of the body with a shared secret.

    Args:
        secret: The shared secret.
        header: The header that carries the signature.
        encoding: ``hex``, ``base64`` or ``base64url``.
        prefix: Put before the signature (e.g. ``"sha256="``).
        timestamp_header: When set, the current POSIX time (seconds) goes in this header and the signed message is
            ``<timestamp>.<body>``; ``None`` signs the body alone.
        clock: The wall clock.
    """

    requires_request_body = True

    def __init__(
        self,
        *,
        secret: SecretStr | str,
        header: str = "X-Signature",
        encoding: Encoding = "hex",
        prefix: str = "",
        timestamp_header: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if not value:
            raise ConfigurationError("the signing secret must not be empty")
        encode(b"", encoding)
        register_secret(value)
        self._key = value.encode()
        self.header = _header_name(header, "signature header")
        self.encoding: Encoding = encoding
        self.prefix = prefix
        self.timestamp_header = _header_name(timestamp_header, "timestamp header") if timestamp_header else None
        self._clock = clock

    def __repr__(self) -> str:
        return f"SignBodySecretAuth(header={self.header!r}, encoding={self.encoding!r})"

    def sign(self, body: bytes, timestamp: str | None = None) -> str:
        """Return the header value for ``body`` (and ``timestamp``)."""
        message = body if timestamp is None else timestamp.encode() + b"." + body
        return self.prefix + encode(hmac.new(self._key, message, hashlib.sha256).digest(), self.encoding)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request's body."""
        timestamp = None
        if self.timestamp_header:
            timestamp = str(int(self._clock()))
            request.headers[self.timestamp_header] = timestamp
        request.headers[self.header] = self.sign(request.content, timestamp)
        yield request


class SignBodyX509Auth(httpx.Auth):
    """A signature of the body made with a certificate's RSA private key.

    Args:
        private_key: The PEM private key.
        certificate_id: Names the certificate to the server (its thumbprint, serial or a registered id).
        key_password: The PEM's password, if encrypted.
        algorithm: ``rsa-sha256`` (PKCS#1 v1.5 with SHA-256) or ``ps256`` (RSASSA-PSS, SHA-256, MGF1, 32-byte salt).
        signature_header: The header that carries the signature.
        certificate_id_header: The header that carries ``certificate_id``.
        encoding: ``base64``, ``base64url`` or ``hex``.
    """

    requires_request_body = True

    def __init__(
        self,
        *,
        private_key: SecretStr | str,
        certificate_id: str,
        key_password: SecretStr | str | None = None,
        algorithm: X509Algorithm = "rsa-sha256",
        signature_header: str = "X-Signature",
        certificate_id_header: str = "X-Certificate-Id",
        encoding: Encoding = "base64",
    ) -> None:
        if algorithm not in ("rsa-sha256", "ps256"):
            raise ConfigurationError(f"unknown algorithm {algorithm!r}; expected one of ['ps256', 'rsa-sha256']")
        if not certificate_id:
            raise ConfigurationError("certificate_id must not be empty")
        encode(b"", encoding)
        self._key = load_private_key(private_key, key_password)
        self.certificate_id = certificate_id
        self.algorithm: X509Algorithm = algorithm
        self.signature_header = _header_name(signature_header, "signature header")
        self.certificate_id_header = _header_name(certificate_id_header, "certificate id header")
        self.encoding: Encoding = encoding

    def __repr__(self) -> str:
        return f"SignBodyX509Auth(certificate_id={self.certificate_id!r}, algorithm={self.algorithm!r})"

    def sign(self, body: bytes) -> str:
        """Return the encoded signature of ``body``."""
        if self.algorithm == "ps256":
            pad: padding.AsymmetricPadding = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        else:
            pad = padding.PKCS1v15()
        return encode(self._key.sign(body, pad, hashes.SHA256()), self.encoding)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign the request's body."""
        request.headers[self.signature_header] = self.sign(request.content)
        request.headers[self.certificate_id_header] = self.certificate_id
        yield request
