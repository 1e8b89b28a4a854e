"""Property tests for field value conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskbridge.desk.assets.models import FieldKind
from deskbridge.desk.assets.values import coerce


@given(st.dates())
def test_any_iso_date_or_datetime_is_stored_as_its_date(d: date) -> None:
    assert coerce(FieldKind.DATE, [], d.isoformat()) == d.isoformat()
    stamp = datetime(d.year, d.month, d.day, 13, 5, tzinfo=UTC).isoformat()
    assert coerce(FieldKind.DATE, [], stamp) == d.isoformat()


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=10, unique_by=str.lower), st.data())
def test_dropdown_accepts_label_any_case_or_position(options: list[str], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(options) - 1))
    assert coerce(FieldKind.DROPDOWN, options, i + 1) == options[i]
    label = options[i]
    if label.strip() == label and label.lower().upper().lower() == label.lower():
        assert coerce(FieldKind.DROPDOWN, options, label.upper()) == label


@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none()))
def test_every_kind_either_converts_or_says_why(value: object) -> None:
    for kind in FieldKind:
        try:
            coerce(kind, ["A", "B"] if kind is FieldKind.DROPDOWN else [], value)
        except ValueError as exc:
            assert str(exc)


def test_checkbox_words() -> None:
    assert [coerce(FieldKind.CHECKBOX, [], v) for v in ("1", "0", "true", "No", True, 0)] == [
        True,
        False,
        True,
        False,
        True,
        False,
    ]
    with pytest.raises(ValueError, match="checkbox"):
        coerce(FieldKind.CHECKBOX, [], 2)
