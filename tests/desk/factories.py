"""Build valid records through the API, for tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import unique


def post(api: httpx.Client, path: str, body: Any, status: int = 201) -> Any:
    r = api.post(path, json=body)
    assert r.status_code == status, r.text
    return r.json()


def customer(api: httpx.Client, **extra: Any) -> dict[str, Any]:
    return dict(post(api, "/api/customers", {"name": unique("cust"), **extra}))


def asset_type(api: httpx.Client) -> dict[str, Any]:
    return dict(post(api, "/api/asset-types", {"name": unique("type")}))


def user(api: httpx.Client, site_id: int) -> dict[str, Any]:
    return dict(post(api, "/api/users", {"name": unique("user"), "site_id": site_id}))


def asset(api: httpx.Client, **extra: Any) -> dict[str, Any]:
    if "site_id" not in extra:
        extra["site_id"] = customer(api)["default_site_id"]
    if "asset_type_id" not in extra:
        extra["asset_type_id"] = asset_type(api)["id"]
    return dict(post(api, "/api/assets", {"name": unique("pc"), **extra}))


def valid_body(api: httpx.Client, resource: str) -> dict[str, Any]:
    """A valid create body for any resource, with the records it points to created first."""
    if resource in ("top-levels", "asset-groups", "asset-types", "ticket-types", "customers"):
        return {"name": unique(resource)}
    if resource == "agents":
        return {"name": unique("agent"), "email": f"{unique('a')}@example.com"}
    if resource == "sites":
        return {"name": unique("site"), "customer_id": customer(api)["id"]}
    if resource == "users":
        return {"name": unique("user"), "site_id": customer(api)["default_site_id"], "email": "u@example.com"}
    if resource in ("asset-fields", "custom-fields"):
        return {"name": unique("field"), "kind": "text"}
    if resource == "assets":
        return {
            "name": unique("pc"),
            "site_id": customer(api)["default_site_id"],
            "asset_type_id": asset_type(api)["id"],
            "serial_number": unique("SN"),
        }
    if resource == "tickets":
        return {"summary": unique("ticket"), "customer_id": customer(api)["id"]}
    raise AssertionError(resource)


RESOURCES = (
    "top-levels",
    "customers",
    "sites",
    "users",
    "agents",
    "asset-groups",
    "asset-types",
    "asset-fields",
    "custom-fields",
    "assets",
    "ticket-types",
    "tickets",
)

# A field each resource accepts in a PATCH, with a new valid value.
PATCHES: dict[str, tuple[str, Any]] = {
    "top-levels": ("name", "renamed"),
    "customers": ("active", False),
    "sites": ("address", "1 Main Street"),
    "users": ("email", "new@example.com"),
    "agents": ("is_admin", True),
    "asset-groups": ("name", "renamed"),
    "asset-types": ("name", "renamed"),
    "asset-fields": ("name", "renamed"),
    "custom-fields": ("name", "renamed"),
    "assets": ("inventory_number", "INV-1"),
    "ticket-types": ("name", "renamed"),
    "tickets": ("details", "more details"),
}
