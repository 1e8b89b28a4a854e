"""Client certificates (mTLS) without a plaintext private key on disk.

Python's :mod:`ssl` loads a certificate and key only from files (``SSLContext.load_cert_chain``; CPython gh-60691,
#118557). The key is therefore written *encrypted*: re-serialised as PKCS#8 with a random one-time password
(``BestAvailableEncryption``), into a file created with mode 0600 in a fresh 0700 directory, loaded with the password
given through a callback, and removed (file and directory) in ``finally``, whatever happens. The plaintext key only
ever exists in this process's memory.

The context also serves the OAuth token endpoint: the token requests of the auth methods go through the same client,
so with ``tls_client_auth`` (RFC 8705) the token endpoint sees the same certificate as the API.
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pydantic import SecretStr

from deskbridge.exceptions import ConfigurationError

__all__ = ["ClientCertificate", "ssl_context"]


@dataclass(slots=True, frozen=True)
class ClientCertificate:
    """A client certificate and its private key.

    Attributes:
        cert_pem: The certificate, followed by any intermediate certificates, in PEM.
        key_pem: The private key in PEM (PKCS#1, PKCS#8 or SEC1), encrypted when ``key_password`` is set.
        key_password: The key's password, if it is encrypted.
    """

    cert_pem: str
    key_pem: SecretStr = field(repr=False)
    key_password: SecretStr | None = field(default=None, repr=False)


def _private_key(cert: ClientCertificate) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    password = cert.key_password.get_secret_value().encode() if cert.key_password else None
    try:
        key = serialization.load_pem_private_key(cert.key_pem.get_secret_value().encode(), password=password)
    except (ValueError, TypeError) as exc:
        reason = "wrong or missing password" if "password" in str(exc).lower() else "not a PEM private key"
        raise ConfigurationError(f"the client certificate's private key cannot be loaded: {reason}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigurationError(f"the client certificate's key is a {type(key).__name__}; use an RSA or EC key")
    return key


def _check_certificate(pem: str) -> None:
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise ConfigurationError("the client certificate is not a PEM certificate") from None
    if not certs:  # pragma: no cover - load_pem_x509_certificates raises instead
        raise ConfigurationError("the client certificate is not a PEM certificate")


def _load_client_certificate(context: ssl.SSLContext, cert: ClientCertificate, temp_dir: str | None) -> None:
    _check_certificate(cert.cert_pem)
    password = secrets.token_urlsafe(32)
    encrypted = _private_key(cert).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password.encode()),
    )
    folder = tempfile.mkdtemp(prefix="deskbridge-mtls-", dir=temp_dir)  # mode 0700
    try:
        cert_path = Path(folder) / "cert.pem"
        key_path = Path(folder) / "key.pem"
        cert_path.write_text(cert.cert_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(encrypted)
        try:
            context.load_cert_chain(str(cert_path), str(key_path), password=lambda: password)
        except ssl.SSLError as exc:
            raise ConfigurationError(
                f"the client certificate and key do not fit together or cannot be used: {exc.reason}"
            ) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def ssl_context(
    *,
    client_certificate: ClientCertificate | None = None,
    ca_pem: str | None = None,
    verify: bool = True,
    temp_dir: str | None = None,
) -> ssl.SSLContext:
    """Return a TLS client context trusting the usual CAs (and ``ca_pem``), presenting ``client_certificate``.

    Args:
        client_certificate: The certificate and key to present, if any.
        ca_pem: More CA certificates to trust (a private CA), in PEM.
        verify: ``False`` turns off server certificate checks (never for production).
        temp_dir: Where the short-lived encrypted key file goes (default: the system's temp directory).

    Raises:
        ConfigurationError: A certificate, CA or key cannot be used (the message holds no key material).
    """
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_pem:
        try:
            context.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError):
            raise ConfigurationError("the CA certificate is not a PEM certificate") from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_certificate is not None:
        _load_client_certificate(context, client_certificate, temp_dir)
    return context
