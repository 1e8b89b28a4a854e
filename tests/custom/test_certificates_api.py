"""/api/certificates through the real server: PEM and PFX uploads, wrong password, key never returned, sealed at
rest, refused deletion while in use."""

from __future__ import annotations

import base64

import httpx
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from sqlalchemy import text

from tests.conftest import Desk, unique
from tests.custom.helpers import create, upload_pem

PFX_PASSWORD = "CANARY-pfx-password-8812"


def _key_body(leaf: trustme.LeafCert) -> str:
    pem = leaf.private_key_pem.bytes().decode()
    return "".join(line for line in pem.splitlines() if "-----" not in line)


def _raw_row(desk: Desk, cert_id: int) -> str:
    with desk.db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM certificate WHERE id = :id"), {"id": cert_id}).one()
    return " ".join(str(v) for v in row)


def test_pem_upload_shows_facts_and_seals_the_key(desk: Desk, client_leaf: trustme.LeafCert) -> None:
    api = desk.admin
    cert = upload_pem(api, client_leaf.private_key_and_cert_chain_pem.bytes())
    expected = x509.load_pem_x509_certificate(client_leaf.cert_chain_pems[0].bytes())
    assert cert["thumbprint"] == expected.fingerprint(hashes.SHA1()).hex().upper()
    assert "CN=integration-client" in cert["subject"] and "Custom Test CA" in cert["issuer"]
    assert cert["not_after"].startswith(str(expected.not_valid_after_utc.year)) and cert["expired"] is False
    assert cert["has_private_key"] is True
    key_part = _key_body(client_leaf)[:40]
    for answer in (cert, api.get(f"/api/certificates/{cert['id']}").json(), api.get("/api/certificates").json()):
        assert "PRIVATE" not in str(answer) and key_part not in str(answer)
    raw = _raw_row(desk, cert["id"])
    assert "PRIVATE KEY" not in raw and key_part not in raw
    with desk.db.engine.connect() as conn:
        sealed = conn.execute(text("SELECT private_key FROM certificate WHERE id = :id"), {"id": cert["id"]}).scalar()
    assert str(sealed).startswith("v1.")


def test_pfx_upload_multipart_and_json_and_wrong_password(desk: Desk, client_leaf: trustme.LeafCert) -> None:
    api = desk.admin
    cert = x509.load_pem_x509_certificate(client_leaf.cert_chain_pems[0].bytes())
    key = serialization.load_pem_private_key(client_leaf.private_key_pem.bytes(), password=None)
    pfx = pkcs12.serialize_key_and_certificates(
        b"client",
        key,  # type: ignore[arg-type]
        cert,
        None,
        serialization.BestAvailableEncryption(PFX_PASSWORD.encode()),
    )
    name = unique("pfx")
    r = api.post(
        "/api/certificates",
        files={"file": ("client.pfx", pfx, "application/x-pkcs12")},
        data={"name": name, "password": PFX_PASSWORD},
    )
    assert r.status_code == 201, r.text
    assert r.json()["has_private_key"] is True and r.json()["name"] == name
    assert PFX_PASSWORD not in r.text and "PRIVATE" not in r.text

    body = {"name": unique("pfx"), "data": base64.b64encode(pfx).decode(), "password": PFX_PASSWORD}
    assert api.post("/api/certificates", json=body).status_code == 201

    before = len(api.get("/api/certificates").json())
    wrong = api.post("/api/certificates", json={**body, "name": unique("pfx"), "password": "not-it"})
    assert wrong.status_code == 422
    assert "wrong password" in wrong.json()["detail"] and PFX_PASSWORD not in wrong.text
    multipart_wrong = api.post(
        "/api/certificates", files={"file": ("c.pfx", pfx)}, data={"name": unique("pfx"), "password": "nope"}
    )
    assert multipart_wrong.status_code == 422
    assert len(api.get("/api/certificates").json()) == before  # nothing stored


def test_bad_uploads_name_the_field(desk: Desk, client_leaf: trustme.LeafCert) -> None:
    api = desk.admin
    pem = client_leaf.cert_chain_pems[0].bytes().decode()
    cases: list[tuple[dict[str, object], str]] = [
        ({"pem": pem}, "name"),
        ({"name": unique("c")}, "either as `pem`"),
        ({"name": unique("c"), "data": "%%% not base64"}, "data"),
        ({"name": unique("c"), "pem": "-----BEGIN NONSENSE-----"}, "no PEM certificate"),
        ({"name": unique("c"), "pem": pem, "extra": 1}, "extra"),
    ]
    before = len(api.get("/api/certificates").json())
    for body, needle in cases:
        r = api.post("/api/certificates", json=body)
        assert r.status_code == 422, (body, r.text)
        assert needle in r.text, (needle, r.text)
    r = api.post("/api/certificates", files={"file": ("x.pem", pem.encode())}, data={})
    assert r.status_code == 422 and "name" in r.json()["detail"]
    assert len(api.get("/api/certificates").json()) == before
    name = unique("dup")
    assert api.post("/api/certificates", json={"name": name, "pem": pem}).status_code == 201
    dup = api.post("/api/certificates", json={"name": name, "pem": pem})
    assert dup.status_code == 409 and name in dup.json()["detail"]


def test_delete_is_refused_while_an_integration_uses_the_certificate(desk: Desk, client_leaf: trustme.LeafCert) -> None:
    api: httpx.Client = desk.admin
    cert = upload_pem(api, client_leaf.private_key_and_cert_chain_pem.bytes())
    integration = create(
        api, {"base_url": "https://api.example.test", "authorization": {"type": "mtls", "certificate": cert["id"]}}
    )
    r = api.delete(f"/api/certificates/{cert['id']}")
    assert r.status_code == 409 and integration["name"] in r.json()["detail"]
    assert api.delete(f"/api/custom-integrations/{integration['id']}").status_code == 204
    assert api.delete(f"/api/certificates/{cert['id']}").status_code == 204
    assert api.get(f"/api/certificates/{cert['id']}").status_code == 404
