from __future__ import annotations

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from deskbridge.custom.certificates import parse_certificate
from deskbridge.exceptions import ValidationError

PASSWORD = "CANARY-pfx-pass"


@pytest.fixture(scope="module")
def leaf() -> trustme.LeafCert:
    return trustme.CA(organization_name="Desk Test CA").issue_cert("api.example.test", common_name="integration-1")


def _objects(leaf: trustme.LeafCert) -> tuple[x509.Certificate, object]:
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), password=None)
    return cert, key


def test_pem_with_key(leaf: trustme.LeafCert) -> None:
    data = leaf.private_key_and_cert_chain_pem.bytes()
    parsed = parse_certificate(data)
    cert, _key = _objects(leaf)
    assert "CN=integration-1" in parsed.subject and "Desk Test CA" in parsed.issuer
    assert parsed.thumbprint == cert.fingerprint(hashes.SHA1()).hex().upper()
    assert parsed.not_after == cert.not_valid_after_utc
    assert parsed.key_pem is not None and "BEGIN PRIVATE KEY" in parsed.key_pem.get_secret_value()
    assert "PRIVATE" not in repr(parsed)


def test_pfx_with_password(leaf: trustme.LeafCert) -> None:
    cert, key = _objects(leaf)
    pfx = pkcs12.serialize_key_and_certificates(
        b"friendly",
        key,
        cert,
        None,
        serialization.BestAvailableEncryption(PASSWORD.encode()),  # type: ignore[arg-type]
    )
    parsed = parse_certificate(pfx, password=PASSWORD)
    assert parsed.thumbprint == cert.fingerprint(hashes.SHA1()).hex().upper() and parsed.key_pem is not None
    with pytest.raises(ValidationError, match="wrong password") as info:
        parse_certificate(pfx, password="nope")
    assert PASSWORD not in str(info.value)


def test_certificate_only_and_mismatched_key(leaf: trustme.LeafCert) -> None:
    assert parse_certificate(leaf.cert_chain_pems[0].bytes()).key_pem is None
    other = trustme.CA().issue_cert("other.test")
    mixed = leaf.cert_chain_pems[0].bytes() + other.private_key_pem.bytes()
    with pytest.raises(ValidationError, match="does not belong"):
        parse_certificate(mixed)
    with pytest.raises(ValidationError, match="no PEM certificate"):
        parse_certificate(b"-----BEGIN NONSENSE-----\n")
