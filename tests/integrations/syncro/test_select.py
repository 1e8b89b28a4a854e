"""Selection: only the wanted keys of each record are decoded, and any odd page falls back to the full decoding."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest

from deskbridge.exceptions import ConfigurationError, FatalSyncError
from deskbridge.integrations.syncro.client import SyncroClient
from deskbridge.integrations.syncro.select import Selection

ASSETS = Selection("assets", ("name", "properties", "odd key"), nested={"customer": ("business_name", "firstname")})


def test_only_the_selected_keys_are_kept_and_absent_keys_stay_absent() -> None:
    body = {
        "assets": [
            {
                "id": 1,
                "name": None,
                "odd key": [1, {"a": 2}],
                "properties": {"Managed": "1", "deep": {"x": [1]}},
                "customer": {"business_name": "Acme", "email": "a@acme.example", "properties": {"p": 1}},
                "rmm_store": {"triggers": {"bsod": "false"}},
            },
            {"id": 2, "customer": None},
            {"id": "3", "name": "only a name"},
        ],
        "meta": {"total_pages": 1, "total_entries": 3},
    }
    records, meta = ASSETS.decode(orjson.dumps(body))  # type: ignore[misc]
    assert records == [
        {
            "id": 1,
            "name": None,
            "odd key": [1, {"a": 2}],
            "properties": {"Managed": "1", "deep": {"x": [1]}},
            "customer": {"business_name": "Acme"},
        },
        {"id": 2, "customer": None},
        {"id": "3", "name": "only a name"},
    ]
    assert meta == {"total_pages": 1, "total_entries": 3}


def test_a_key_both_whole_and_nested_is_decoded_whole() -> None:
    whole = Selection("assets", ("customer",), nested={"customer": ("business_name",)})
    records, _ = whole.decode(b'{"assets": [{"id": 1, "customer": {"business_name": "A", "email": "e"}}]}')  # type: ignore[misc]
    assert records == [{"id": 1, "customer": {"business_name": "A", "email": "e"}}]


@pytest.mark.parametrize(
    "content",
    [
        b"<html>not json</html>",
        b"[]",
        b'{"meta": {}}',
        b'{"assets": 5}',
        b'{"assets": [1, 2]}',
        b'{"assets": [{"id": 1, "customer": "a string"}]}',
        b'{"assets": [{"id": 1}',
    ],
)
def test_a_page_of_another_shape_is_left_to_the_full_decoding(content: bytes) -> None:
    assert ASSETS.decode(content) is None


def test_a_page_without_meta_has_none() -> None:
    assert ASSETS.decode(b'{"assets": []}') == ([], None)


def _client(handler: Any) -> SyncroClient:
    return SyncroClient("https://acme.example", "k", budget=None, transport=httpx.MockTransport(handler))


def test_a_selected_listing_gives_the_same_records_with_fewer_keys() -> None:
    page = {
        "assets": [
            {"id": i, "name": f"PC {i}", "rmm_store": {"id": i}, "customer": {"business_name": "B"}} for i in (1, 2)
        ],
        "meta": {"total_pages": 1, "total_entries": 2, "per_page": 100, "page": 1},
    }
    with _client(lambda r: httpx.Response(200, json=page)) as c:
        full = list(c.iter_assets())
        listing = c.iter_assets(select=Selection("assets", ("name",), nested={"customer": ("business_name",)}))
        picked = list(listing)
    assert listing.complete and listing.total_entries == 2
    assert picked == [{k: r[k] for k in ("id", "name", "customer")} for r in full]
    assert "rmm_store" in full[0]


def test_odd_pages_give_the_same_errors_with_a_selection() -> None:
    select = Selection("assets", ("name",))
    no_list = _client(lambda r: httpx.Response(200, json={"things": []}))
    with no_list as c, pytest.raises(FatalSyncError, match="has no 'assets' list"):
        list(c.iter_assets(select=select))
    html = _client(lambda r: httpx.Response(200, html="<html>welcome</html>"))
    with html as c, pytest.raises(ConfigurationError, match=r"no SyncroMSP API at https://acme\.example/api/v1 .*html"):
        list(c.iter_assets(select=select))


def test_a_selection_of_another_list_is_refused() -> None:
    with _client(lambda r: httpx.Response(200, json={})) as c, pytest.raises(ValueError, match="'customers'"):
        c.iter_assets(select=Selection("customers", ("name",)))


def _reads(*rows: tuple[str, str] | tuple[str, str, str]) -> Any:
    from deskbridge.integrations.base import SyncContext
    from deskbridge.integrations.syncro.plugin import FIELD_MAPPINGS, _AssetReads
    from deskbridge.integrations.syncro.settings import FieldMapping

    mappings = [
        FieldMapping(
            target_kind="asset_field",
            target=f"T{i}",
            source_kind=row[0],
            source=row[1],
            source_type=row[2] if len(row) > 2 else "text",
        )
        for i, row in enumerate(rows)
    ]
    return _AssetReads.of(SyncContext(desk=None, settings=None, tables={FIELD_MAPPINGS: mappings}))  # type: ignore[arg-type]


PROPERTIES = {
    "Warranty Expires": "2027-01-02",
    "managed": "1",
    "Other": "x",
    "kabuto_information": {"os": {"name": "Windows 11", "build": "22631"}, "cpu": [{"name": "i7"}], "ram": 16},
}


def test_prune_keeps_only_the_properties_the_mappings_read() -> None:
    reads = _reads(
        ("custom", "warranty expires"),
        ("custom", "Managed"),
        ("core", "properties.kabuto_information.os.name"),
        ("core", "properties.kabuto_information.cpu.0.name"),
        ("core", "asset_serial"),
    )
    raw = {"id": 1, "properties": dict(PROPERTIES)}
    assert reads.prune(raw)["properties"] == {
        "Warranty Expires": "2027-01-02",
        "managed": "1",
        "kabuto_information": {"os": {"name": "Windows 11"}, "cpu": [{"name": "i7"}]},
    }
    from deskbridge.integrations.syncro import fields

    for path in ("properties.kabuto_information.os.name", "properties.kabuto_information.cpu.0.name"):
        assert fields.read_path(raw, path) == fields.read_path({"properties": PROPERTIES}, path)


def test_prune_keeps_everything_under_a_path_read_whole_and_leaves_odd_properties() -> None:
    whole = _reads(("core", "properties.kabuto_information"), ("core", "properties.kabuto_information.os.name"))
    assert whole.prune({"properties": dict(PROPERTIES)})["properties"] == {
        "kabuto_information": PROPERTIES["kabuto_information"]
    }
    everything = _reads(("core", "properties"))
    assert everything.prune({"properties": dict(PROPERTIES)})["properties"] == PROPERTIES
    assert _reads().prune({"properties": None}) == {"properties": None}
    assert _reads().prune({"properties": dict(PROPERTIES)})["properties"] == {}
    assert _reads(("custom", "Missing")).prune({"id": 2}) == {"id": 2}


def test_dropdown_answer_ids_become_labels_and_other_values_stay() -> None:
    reads = _reads(("custom", "location", "dropdown"), ("custom", "Managed", "checkbox"))
    answers = {"location": {"44701": "Head Office", "44702": "Branch"}, "managed": {"1": "not a dropdown"}}
    props = {"Location": " 44702 ", "Managed": "1", "Other": "x"}
    assert reads.prune({"properties": props}, answers)["properties"] == {"Location": "Branch", "Managed": "1"}
    label = {"Location": "Remote", "Managed": True}
    assert reads.prune({"properties": label}, answers)["properties"] == {"Location": "Remote", "Managed": True}
    assert reads.dropdowns == frozenset({"location"})
