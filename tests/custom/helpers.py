"""Small helpers of the custom integration tests."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.conftest import unique


def create(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """Create a custom integration; return it."""
    r = api.post("/api/custom-integrations", json={"name": unique("ci"), **body})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def method(api: httpx.Client, integration_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """Create a method of the integration; return it."""
    r = api.post(f"/api/custom-integrations/{integration_id}/methods", json={"name": unique("m"), **body})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def run(api: httpx.Client, integration_id: int, method_id: int, **variables: Any) -> dict[str, Any]:
    """Test a method; return the answer (status 200 asserted)."""
    r = api.post(f"/api/custom-integrations/{integration_id}/methods/{method_id}/test", json={"variables": variables})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def upload_pem(api: httpx.Client, pem: bytes, **extra: Any) -> dict[str, Any]:
    """Store a certificate given as PEM (base64 in JSON); return it."""
    body = {"name": unique("cert"), "data": base64.b64encode(pem).decode(), **extra}
    r = api.post("/api/certificates", json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out
