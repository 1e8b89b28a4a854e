"""The certificate store: uploaded PEM or PFX certificates, private keys sealed at rest and never returned."""

from __future__ import annotations

from deskbridge.custom.certificates.parse import ParsedCertificate, parse_certificate

__all__ = ["ParsedCertificate", "parse_certificate"]
