"""Request and response bodies of ``/api/certificates``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from deskbridge.desk.types import Name, WriteModel

__all__ = ["CertificateRead", "CertificateUpload"]

_MAX_TEXT = 400_000  # base64 of the largest accepted upload (256 KiB), with room for line breaks


class CertificateUpload(WriteModel):
    """A certificate to store: a PEM bundle as text (``pem``) or any file (PEM or PFX) in base64 (``data``)."""

    name: Name
    pem: str | None = Field(None, max_length=_MAX_TEXT, description="PEM text: certificate chain and private key.")
    data: str | None = Field(None, max_length=_MAX_TEXT, description="The file (PEM or PFX/PKCS#12), base64.")
    password: SecretStr | None = Field(None, max_length=1000, description="The PFX's or the encrypted key's password.")

    @model_validator(mode="after")
    def _one_source(self) -> CertificateUpload:
        if (self.pem is None) == (self.data is None):
            raise ValueError("give the certificate either as `pem` (text) or as `data` (base64), not both")
        return self


class CertificateRead(BaseModel):
    """A stored certificate, as shown: never its private key."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    subject: str
    issuer: str
    thumbprint: str = Field(description="SHA-1 of the certificate, upper-case hex (as Windows shows it).")
    thumbprint_sha256: str
    serial_number: str
    not_before: datetime
    not_after: datetime = Field(description="Expiry.")
    expired: bool
    has_private_key: bool
    created_at: datetime
    updated_at: datetime
