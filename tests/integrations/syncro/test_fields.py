"""Converting SyncroMSP values to desk field kinds: every source type, and the clear reasons for what cannot be."""

from __future__ import annotations

from typing import Any

import pytest

from deskbridge.integrations.syncro.fields import FieldValueError, Target, convert, read_custom, read_path

TEXT = Target("text")
CHECK = Target("checkbox")
DATE = Target("date")
SIZE = Target("dropdown", ("Small", "Medium", "Large"))


@pytest.mark.parametrize(
    ("value", "source_type", "target", "expected"),
    [
        ("abc ", "text", TEXT, "abc"),
        (16, "text", TEXT, "16"),
        (["a", "b"], "text", TEXT, "a, b"),
        ("1", "checkbox", CHECK, True),
        ("0", "checkbox", CHECK, False),
        (True, "checkbox", CHECK, True),
        ("false", "checkbox", CHECK, False),
        ("1", "checkbox", TEXT, "Yes"),
        ("2026-11-23", "date", DATE, "2026-11-23"),
        ("2026-11-23T22:42:04.572-06:00", "date", DATE, "2026-11-23"),
        ("2026-11-23T10:00:00Z", "date", TEXT, "2026-11-23"),
        ("medium", "dropdown", SIZE, "Medium"),
        ("44735", "dropdown", SIZE, "Large"),
        (44735, "dropdown", SIZE, "Large"),
        ("Large", "text", SIZE, "Large"),
        (None, "text", TEXT, None),
        ("  ", "date", DATE, None),
    ],
)
def test_values_convert_to_the_target_kind(value: Any, source_type: str, target: Target, expected: Any) -> None:
    assert convert(value, source_type=source_type, target=target, answers={"44735": "Large"}) == expected


@pytest.mark.parametrize(
    ("value", "source_type", "target", "reason"),
    [
        ("maybe", "checkbox", CHECK, "not a checkbox value"),
        ("next tuesday", "date", DATE, "not an ISO 8601 date"),
        ("Huge", "dropdown", SIZE, "not one of the desk field's options"),
        ({"a": 1}, "text", TEXT, "an object cannot be shown as text"),
        ("abc", "text", CHECK, "not a checkbox value"),
    ],
)
def test_values_that_cannot_convert_say_why(value: Any, source_type: str, target: Target, reason: str) -> None:
    with pytest.raises(FieldValueError, match=reason):
        convert(value, source_type=source_type, target=target)


def test_paths_reach_nested_values_and_list_items() -> None:
    kabuto = {"os": {"name": "Win"}, "cpu": [{"name": "i5"}]}
    asset = {"asset_serial": "X1", "properties": {"kabuto_information": kabuto}}
    assert read_path(asset, "asset_serial") == "X1"
    assert read_path(asset, "properties.kabuto_information.os.name") == "Win"
    assert read_path(asset, "properties.kabuto_information.cpu.0.name") == "i5"
    assert read_path(asset, "properties.kabuto_information.cpu.5.name") is None
    assert read_path(asset, "properties.missing.name") is None
    assert read_custom({"Warranty End": "2027-01-01"}, "warranty end") == "2027-01-01"
    assert read_custom({"Warranty End": "2027-01-01"}, "Warranty End") == "2027-01-01"
