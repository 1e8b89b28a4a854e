"""SyncroMSP's settings (connection, imports, alerting) and its two tables (customer mappings, asset field mappings)."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = [
    "CORE_ASSET_TARGETS",
    "DEFAULT_EXCLUSIONS",
    "TOKEN_PATTERN",
    "AlertingSettings",
    "CustomerMapping",
    "FieldMapping",
    "SyncroSettings",
]

DEFAULT_EXCLUSIONS = [
    "none",
    "n/a",
    "0",
    "to be filled by o.e.m.",
    "default string",
    "system serial number",
    "not specified",
]
"""Serial numbers that many machines share (placeholders written by manufacturers): they never match."""

CORE_ASSET_TARGETS = ("name", "serial_number", "inventory_number")
"""Desk asset columns a field mapping (``target_kind: asset_field``) may write besides the defined asset fields."""

TOKEN_PATTERN = r"^[A-Za-z0-9._~-]{16,256}$"  # noqa: S105 - a pattern, not a password
"""A webhook token: 16 to 256 characters that need no escaping in a URL's query string."""

_MATCHING = re.compile(r"^(name|serial_number|inventory_number|(fields|custom_fields)\..+)$")


class AlertingSettings(BaseModel):
    """Alert processing: SyncroMSP's RMM alert webhooks become tickets (``POST /api/notify/syncro``)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Process alert webhooks; while off, the endpoint answers 404.")
    ticket_type_id: int | None = Field(
        None, ge=1, description="Type of the tickets alerts raise (best a dedicated type with no mandatory fields)."
    )
    default_user_id: int | None = Field(
        None,
        ge=1,
        description="End user of alert tickets whose asset has no user and whose customer cannot be determined.",
    )
    authentication: Literal["none", "token"] = Field(
        "none",
        description='"token": webhooks must carry ?token=<token> (set `token`, or generate one with '
        'POST /api/integrations/syncro/alerting/token); "none": no check (less secure).',
    )
    token: SecretStr | None = Field(
        None,
        description="The webhook token (write-only): 16 to 256 letters, digits or . _ ~ -.",
        json_schema_extra={"pattern": TOKEN_PATTERN},
    )

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.match(TOKEN_PATTERN, value.get_secret_value()):
            raise ValueError(
                "must be 16 to 256 letters, digits or . _ ~ - (generate a strong one with "
                "POST /api/integrations/syncro/alerting/token)"
            )
        return value

    @model_validator(mode="after")
    def _token_needed(self) -> AlertingSettings:
        if self.authentication == "token" and self.token is None:
            raise ValueError(
                'authentication "token" needs a token: set alerting.token or generate one with '
                "POST /api/integrations/syncro/alerting/token"
            )
        return self


class SyncroSettings(BaseModel):
    """Connection, customer and asset import settings."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        description="The application URL, e.g. https://acme.syncromsp.com (the API is <url>/api/v1).",
        max_length=500,
    )
    api_key: SecretStr = Field(description="A SyncroMSP API token allowed to read customers and assets.")
    top_level_id: int | None = Field(None, ge=1, description="Customers created by the import go under this top level.")
    default_site_id: int | None = Field(
        None, ge=1, description="Site for assets whose Syncro customer is neither mapped nor matched."
    )
    default_asset_group_id: int | None = Field(None, ge=1, description="Asset group for new asset types.")
    asset_matching_field: str = Field(
        "serial_number",
        description="Desk field that identifies an asset not linked yet: name, serial_number, inventory_number, "
        "fields.<asset field> or custom_fields.<custom field>.",
    )
    asset_matching_exclusions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUSIONS),
        description="Matching values that never match (ignoring case), e.g. 'To be filled by O.E.M.'.",
    )
    deactivate_deleted_assets: bool = Field(
        False, description="Integrator runs only: deactivate linked assets that are no longer in SyncroMSP."
    )
    per_page: int = Field(100, ge=1, le=100, description="Records per page asked of SyncroMSP.")
    requests_per_minute: int = Field(
        180, ge=1, le=10_000, description="Client-side budget; SyncroMSP allows 180 requests a minute per IP."
    )
    alerting: AlertingSettings = Field(default_factory=AlertingSettings, description="RMM alerts → tickets.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        text = value.strip().rstrip("/")
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://acme.syncromsp.com")
        return text.removesuffix("/api/v1")

    @field_validator("asset_matching_field")
    @classmethod
    def _matching(cls, value: str) -> str:
        if not _MATCHING.match(value):
            raise ValueError(
                "must be name, serial_number, inventory_number, fields.<asset field> or custom_fields.<custom field>"
            )
        return value


class CustomerMapping(BaseModel):
    """A SyncroMSP customer mapped onto a desk customer and one of its sites (Syncro has no sites)."""

    model_config = ConfigDict(extra="forbid")

    syncro_customer_id: int = Field(ge=1)
    customer_id: int = Field(ge=1)
    site_id: int = Field(ge=1)


class FieldMapping(BaseModel):
    """Where a SyncroMSP asset value goes in the desk."""

    model_config = ConfigDict(extra="forbid")

    target_kind: Literal["asset_field", "custom_field"]
    target: str = Field(min_length=1, max_length=255, description="The desk field's name.")
    source_kind: Literal["core", "custom"]
    source: str = Field(
        min_length=1,
        max_length=500,
        description="A core field path (asset_serial, properties.kabuto_information.os.name) or the exact name of "
        "a SyncroMSP custom field.",
    )
    source_type: Literal["text", "textarea", "date", "checkbox", "dropdown"] = "text"
    only_when_empty: bool = Field(False, description="Write only on new assets and where the desk value is empty.")

    @property
    def desk_key(self) -> str:
        """The draft key it writes: ``serial_number``, ``fields.<name>`` or ``custom_fields.<name>``."""
        if self.target_kind == "custom_field":
            return f"custom_fields.{self.target}"
        return self.target if self.target in CORE_ASSET_TARGETS else f"fields.{self.target}"
