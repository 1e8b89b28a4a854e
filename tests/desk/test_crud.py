"""Every resource through the real HTTP API: create, read, list, patch, delete, and bad input on every route."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.desk.factories import PATCHES, RESOURCES, valid_body


def assert_problem(r: httpx.Response, status: int, field: str | None = None) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["detail"]
    if field is not None:
        assert any(e["field"] == field for e in body["errors"]), body
    return dict(body)


@pytest.mark.parametrize("resource", RESOURCES)
def test_crud_round_trip(api: httpx.Client, resource: str) -> None:
    body = valid_body(api, resource)
    r = api.post(f"/api/{resource}", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    rid = created["id"]
    assert created["external_ids"] == {}
    for key, value in body.items():
        assert created[key] == value

    assert api.get(f"/api/{resource}/{rid}").json() == created

    field, value = PATCHES[resource]
    if value == "renamed":
        value = f"renamed-{uuid.uuid4().hex[:8]}"
    r = api.patch(f"/api/{resource}/{rid}", json={field: value})
    assert r.status_code == 200, r.text
    assert r.json()[field] == value
    assert api.get(f"/api/{resource}/{rid}").json()[field] == value

    page = api.get(f"/api/{resource}", params={"page_size": 1000}).json()
    assert rid in [i["id"] for i in page["items"]]
    assert page["page"] == 1 and page["page_size"] == 1000 and page["total"] >= 1

    r = api.delete(f"/api/{resource}/{rid}")
    assert r.status_code == 204, r.text
    assert_problem(api.get(f"/api/{resource}/{rid}"), 404)
    assert_problem(api.delete(f"/api/{resource}/{rid}"), 404)


@pytest.mark.parametrize("resource", RESOURCES)
def test_bad_input_on_every_route(api: httpx.Client, resource: str) -> None:
    # build the valid bodies first: they may create records of this resource (a customer brings a site)
    body, body2 = valid_body(api, resource), valid_body(api, resource)
    text_field = "summary" if resource == "tickets" else "name"
    before = api.get(f"/api/{resource}").json()["total"]
    # unknown field, wrong type, missing required field, not JSON, empty array, unknown id, NUL character
    assert_problem(api.post(f"/api/{resource}", json={**body, "bogus": 1}), 422, "bogus")
    assert_problem(api.post(f"/api/{resource}", json={}), 422)
    assert_problem(api.post(f"/api/{resource}", json=[]), 422)
    assert_problem(api.post(f"/api/{resource}", json=[1, "x"]), 422, "[0]")
    assert_problem(api.post(f"/api/{resource}", json=[body, {**body2, text_field: ""}]), 422, f"[1].{text_field}")
    r = api.post(f"/api/{resource}", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert_problem(api.post(f"/api/{resource}", json={"id": 99999999}), 404)
    assert_problem(api.post(f"/api/{resource}", json={**body, text_field: "a\x00b"}), 422, text_field)
    assert api.get(f"/api/{resource}").json()["total"] == before
    assert api.post(f"/api/{resource}", json=body).status_code == 201
    assert api.get(f"/api/{resource}").json()["total"] == before + 1

    assert_problem(api.get(f"/api/{resource}/0"), 422)
    assert_problem(api.get(f"/api/{resource}/abc"), 422)
    assert_problem(api.get(f"/api/{resource}/99999999"), 404)
    assert_problem(api.patch(f"/api/{resource}/99999999", json={}), 404)
    assert_problem(api.delete(f"/api/{resource}/99999999"), 404)
    assert_problem(api.get(f"/api/{resource}", params={"page_size": 1001}), 422, "page_size")
    assert_problem(api.get(f"/api/{resource}", params={"page": 0}), 422, "page")
    assert_problem(api.get(f"/api/{resource}", params={"external_id": "7"}), 422, "external_id")

    created = api.post(f"/api/{resource}", json=valid_body(api, resource)).json()
    field = "summary" if resource == "tickets" else "name"
    assert_problem(api.patch(f"/api/{resource}/{created['id']}", json={field: None}), 422, field)
    assert_problem(api.patch(f"/api/{resource}/{created['id']}", json={"nope": 1}), 422, "nope")
    assert api.get(f"/api/{resource}/{created['id']}").json() == created


def test_requires_a_token(desk: object, api: httpx.Client) -> None:
    base = str(api.base_url)
    for path in ("/api/customers", "/api/assets/1", "/api/integrator"):
        r = httpx.get(base.rstrip("/") + path)
        assert_problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")
    r = httpx.get(base.rstrip("/") + "/api/customers", headers={"Authorization": "Bearer not-a-token"})
    assert_problem(r, 401)
    r = httpx.get(base.rstrip("/") + "/api/version")
    assert r.status_code == 200 and r.json()["api"] == 1
