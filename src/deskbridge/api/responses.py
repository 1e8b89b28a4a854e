"""Fast JSON responses (orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

__all__ = ["ORJSONResponse"]


class ORJSONResponse(JSONResponse):
    """A JSON response rendered with orjson."""

    def render(self, content: Any) -> bytes:
        """Serialise ``content`` (datetimes in UTC as ``...Z``)."""
        return orjson.dumps(content, option=orjson.OPT_UTC_Z)
