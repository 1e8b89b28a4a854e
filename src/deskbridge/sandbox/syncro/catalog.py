"""The tenant's settings: asset types, their custom fields and dropdown answers, customer fields, locale.

Field-type names follow the Rails vocabulary the reference infers (``text_field``, ``text_area``, ``date_field``,
``check_box``, ``select_box``, ``web_link``); they are constants here so a better-documented vocabulary is one
edit away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "ASSET_TYPES",
    "ASSET_TYPE_BY_ID",
    "ASSET_TYPE_BY_NAME",
    "CUSTOMER_FIELDS",
    "SYNCRO_DEVICE",
    "AssetType",
    "DropdownStyle",
    "Field",
    "settings_body",
]

DropdownStyle = Literal["label", "id_str", "id_int"]


@dataclass(slots=True, frozen=True)
class Field:
    """A custom field of an asset type (or of customers when ``asset_type_id`` is 0).

    Attributes:
        id: The field id.
        name: The key under which values appear in ``properties``.
        field_type: One of the field-type names above.
        position: Display order.
        required: Whether the UI requires it.
        answers: Dropdown options as ``(answer id, label)``; empty for other types.
        style: How generated dropdown values are stored: the label, the answer id as a string, or as an int.
    """

    id: int
    name: str
    field_type: str
    position: int
    required: bool = False
    answers: tuple[tuple[int, str], ...] = ()
    style: DropdownStyle = "label"


@dataclass(slots=True, frozen=True)
class AssetType:
    """An asset type with its custom fields."""

    id: int
    name: str
    fields: tuple[Field, ...]


def _answers(first_id: int, *labels: str) -> tuple[tuple[int, str], ...]:
    return tuple((first_id + n, label) for n, label in enumerate(labels))


SYNCRO_DEVICE = AssetType(
    29811,
    "Syncro Device",
    (
        Field(90101, "Splashtop UUID", "text_field", 1),
        Field(90102, "ScreenConnect GUID", "text_field", 2),
        Field(90103, "Warranty Expires", "date_field", 3),
        Field(90104, "Managed", "check_box", 4),
        Field(90105, "Location", "select_box", 5, answers=_answers(44701, "Head Office", "Branch", "Remote")),
        Field(90106, "Notes", "text_area", 6),
    ),
)

ASSET_TYPES: tuple[AssetType, ...] = (
    SYNCRO_DEVICE,
    AssetType(
        29812,
        "Laptop",
        (
            Field(90201, "Model No.:", "text_field", 1),
            Field(90202, "Purchase Date", "date_field", 2),
            Field(90203, "Encrypted", "check_box", 3),
            Field(90204, "Assigned To", "text_field", 4, required=True),
            Field(90205, "Condition", "select_box", 5, answers=_answers(44711, "New", "Good", "Fair", "Retired")),
            Field(90206, "Notes", "text_area", 6),
        ),
    ),
    AssetType(
        29813,
        "Printer",
        (
            Field(90301, "IP Address", "text_field", 1),
            Field(90302, "Toner Model", "text_field", 2),
            Field(90303, "Lease Ends", "date_field", 3),
            Field(90304, "Colour", "check_box", 4),
            Field(90305, "Size", "select_box", 5, answers=_answers(44721, "Small", "Medium", "Large")),
            Field(90306, "Admin URL", "web_link", 6),
        ),
    ),
    AssetType(
        29814,
        "Network Device",
        (
            Field(90401, "Management IP", "text_field", 1, required=True),
            Field(90402, "Firmware", "text_field", 2),
            Field(90403, "Support Contract Ends", "date_field", 3),
            Field(90404, "HA Pair", "check_box", 4),
            Field(
                90405,
                "Role",
                "select_box",
                5,
                answers=_answers(44731, "Firewall", "Switch", "Access Point", "Router"),
                style="id_str",
            ),
            Field(90406, "Config Notes", "text_area", 6),
        ),
    ),
    AssetType(
        29815,
        "Mobile Phone",
        (
            Field(90501, "IMEI No.", "text_field", 1),
            Field(90502, "Phone Number", "text_field", 2),
            Field(90503, "Contract Ends", "date_field", 3),
            Field(90504, "MDM Enrolled", "check_box", 4),
            Field(
                90505,
                "Carrier",
                "select_box",
                5,
                answers=_answers(44741, "Telus", "Rogers", "Verizon", "AT&T"),
                style="id_str",
            ),
        ),
    ),
    AssetType(
        29816,
        "Server",
        (
            Field(
                90601,
                "OS",
                "select_box",
                1,
                answers=_answers(1, "Windows Server 2019", "Windows Server 2022", "Ubuntu 22.04", "ESXi 8"),
                style="id_int",
            ),
            Field(90602, "Role", "text_area", 2),
            Field(90603, "Warranty Expires", "date_field", 3),
            Field(90604, "Backed Up", "check_box", 4),
            Field(90605, "iDRAC/iLO", "web_link", 5),
            Field(90606, "Rack Location", "text_field", 6),
        ),
    ),
    AssetType(29817, "Software License", (Field(90701, "Seats", "text_field", 1),)),
)

ASSET_TYPE_BY_ID = {t.id: t for t in ASSET_TYPES}
ASSET_TYPE_BY_NAME = {t.name: t for t in ASSET_TYPES}

CUSTOMER_FIELDS: tuple[Field, ...] = (
    Field(
        7701,
        "Network",
        "select_box",
        1,
        answers=_answers(44735, "Meraki", "UniFi", "Fortinet", "Unmanaged"),
        style="id_str",
    ),
    Field(7702, "POS System", "select_box", 2, answers=_answers(44730, "Square", "Lightspeed", "None"), style="id_str"),
    Field(7703, "Onboarded", "date_field", 3),
    Field(7704, "After Hours Support", "check_box", 4),
    Field(7705, "Account Manager", "text_field", 5),
)


def settings_body(*, time_offset: str = "-06:00") -> dict[str, Any]:
    """Return the ``GET /settings`` body."""
    asset_fields = [
        {
            "id": f.id,
            "name": f.name,
            "field_type": f.field_type,
            "asset_type_id": t.id,
            "position": f.position,
            "required": f.required,
        }
        for t in ASSET_TYPES
        for f in t.fields
    ]
    asset_answers = [
        {"id": a_id, "asset_type_field_id": f.id, "value": label}
        for t in ASSET_TYPES
        for f in t.fields
        for a_id, label in f.answers
    ]
    customer_fields = [
        {"id": f.id, "name": f.name, "field_type": f.field_type, "position": f.position, "required": f.required}
        for f in CUSTOMER_FIELDS
    ]
    customer_answers = [
        {"id": a_id, "customer_field_id": f.id, "value": label} for f in CUSTOMER_FIELDS for a_id, label in f.answers
    ]
    return {
        "customers": {
            "required_fields": None,
            "customer_fields": customer_fields,
            "customer_field_answers": customer_answers,
        },
        "assets": {
            "asset_types": [{"id": t.id, "name": t.name} for t in ASSET_TYPES],
            "asset_type_fields": asset_fields,
            "asset_type_field_answers": asset_answers,
        },
        "locale": {
            "iso_code": "en",
            "currency_symbol": "$",
            "date_format": "yyyy-mm-dd",
            "time_format": "hh:mm tt",
            "time_zone": "America/Edmonton",
            "time_offset": time_offset,
        },
        "ticket": {
            "ticket_types": [],
            "ticket_type_fields": [],
            "ticket_type_field_answers": [],
            "problem_types": ["Virus", "TuneUp", "Hardware", "Software", "Other"],
            "priorities": ["", "0 Urgent", "1 High", "2 Normal", "3 Low"],
        },
        "business_hours_enabled": True,
        "default_holiday_calendar": "Canada",
        "msp_addon": None,
    }
