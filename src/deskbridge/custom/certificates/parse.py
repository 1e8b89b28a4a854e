"""Reading uploaded certificates (PEM or PFX/PKCS#12) into what the certificate store keeps and shows.

:func:`parse_certificate` accepts a PEM bundle (certificate chain, optionally with a private key, itself optionally
encrypted) or a PFX with its password, and returns a :class:`ParsedCertificate`: the chain as PEM, the private key
re-serialised as unencrypted PKCS#8 PEM *in memory only* (as a :class:`SecretStr`, for the store to seal at rest with
:class:`~deskbridge.security.secretbox.SecretBox` and never return), and the facts shown to the admin: subject,
issuer, SHA-1 thumbprint (the form Windows and most vendor consoles show) and SHA-256 thumbprint, serial number and
validity. The key must belong to the leaf certificate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pydantic import SecretStr

from deskbridge.exceptions import ValidationError

__all__ = ["ParsedCertificate", "parse_certificate"]

_MAX_UPLOAD = 256 * 1024


@dataclass(slots=True, frozen=True)
class ParsedCertificate:
    """An uploaded certificate, ready for the store.

    Attributes:
        cert_pem: The leaf certificate followed by the rest of the chain, in PEM.
        key_pem: The private key as unencrypted PKCS#8 PEM (to be sealed at rest), or ``None``.
        subject: The leaf's subject, RFC 4514 text.
        issuer: The leaf's issuer, RFC 4514 text.
        thumbprint: SHA-1 of the leaf's DER, upper-case hex.
        thumbprint_sha256: SHA-256 of the leaf's DER, upper-case hex.
        serial_number: The serial number, upper-case hex.
        not_before: Start of validity (UTC).
        not_after: End of validity (UTC).
    """

    cert_pem: str
    key_pem: SecretStr | None = field(repr=False)
    subject: str
    issuer: str
    thumbprint: str
    thumbprint_sha256: str
    serial_number: str
    not_before: datetime
    not_after: datetime


def _invalid(msg: str) -> ValidationError:
    return ValidationError.single("certificate", msg=msg)


def _load_pem(data: bytes, password: str | None) -> tuple[list[x509.Certificate], object | None]:
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise _invalid("no PEM certificate found (expected -----BEGIN CERTIFICATE-----)") from None
    key = None
    if b"PRIVATE KEY-----" in data:
        try:
            key = serialization.load_pem_private_key(data, password=password.encode() if password else None)
        except TypeError:
            raise _invalid("the private key is encrypted: give its password") from None
        except ValueError:
            raise _invalid("the private key cannot be read: wrong password or not a PEM private key") from None
    return certs, key


def _load_pfx(data: bytes, password: str | None) -> tuple[list[x509.Certificate], object | None]:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        raise _invalid("the PFX cannot be opened: wrong password or not a PFX/PKCS#12 file") from None
    if cert is None:
        raise _invalid("the PFX holds no certificate")
    return [cert, *extra], key


def parse_certificate(data: bytes, *, password: str | None = None) -> ParsedCertificate:
    """Read a PEM bundle or a PFX (with ``password``) into a :class:`ParsedCertificate`.

    Raises:
        ValidationError: The upload is too big, unreadable, the password is wrong, or the key does not match the
            certificate. Messages never hold key material.
    """
    if len(data) > _MAX_UPLOAD:
        raise _invalid(f"the upload is {len(data)} bytes; at most {_MAX_UPLOAD} are accepted")
    is_pem = data.lstrip().startswith(b"-----BEGIN")
    certs, key = _load_pem(data, password) if is_pem else _load_pfx(data, password)
    leaf = certs[0]
    key_pem: SecretStr | None = None
    if key is not None:
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise _invalid(f"the private key is a {type(key).__name__}; RSA or EC keys are supported")
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        if key.public_key().public_bytes(serialization.Encoding.DER, public) != leaf.public_key().public_bytes(
            serialization.Encoding.DER, public
        ):
            raise _invalid("the private key does not belong to the (first) certificate")
        key_pem = SecretStr(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
        )
    chain = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)
    return ParsedCertificate(
        cert_pem=chain,
        key_pem=key_pem,
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        thumbprint=leaf.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - an identifier, not security
        thumbprint_sha256=leaf.fingerprint(hashes.SHA256()).hex().upper(),
        serial_number=format(leaf.serial_number, "X"),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )
