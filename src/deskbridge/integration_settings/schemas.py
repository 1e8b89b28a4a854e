"""Request bodies of ``/api/integrations``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from deskbridge.desk.types import ShortText

__all__ = ["IntegrationUpdate"]


class IntegrationUpdate(BaseModel):
    """Changes to an integration; omitted keys stay as they are.

    ``settings`` is merged into the stored settings and validated against the integration's settings model: omit a
    secret field to keep it, send null to clear it. Secret fields are never returned (``<field>_set`` instead).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    integrator_enabled: bool | None = None
    entities: list[ShortText] | None = Field(None, description="Entities the integrator processes; [] means all.")
    instance: ShortText | None = Field(
        None, max_length=64, description='Bind the credentials to this integrator instance; "" unbinds.'
    )
    settings: dict[str, Any] | None = None
