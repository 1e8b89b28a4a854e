"""Settings of the desk server, read from ``DESKBRIDGE_*`` environment variables.

``DESKBRIDGE_DATABASE_URL``  SQLAlchemy URL; default ``sqlite:///./deskbridge.db``.
``DESKBRIDGE_SECRET_KEY``    32 bytes in url-safe base64: the key for secrets at rest. When unset, a key file
                             ``deskbridge.key`` is created (mode 0600) in ``DESKBRIDGE_DATA_DIR`` on first use and
                             reused after.
``DESKBRIDGE_DATA_DIR``      folder for the key file; default the working folder.
``DESKBRIDGE_PUBLIC_URL``    the URL agents and the integrator reach the desk at (shown as API/auth URL).
``DESKBRIDGE_TENANT``        optional tenant name a token request must name (hosted desks).
``DESKBRIDGE_TOKEN_TTL_SECONDS`` lifetime of access tokens; default 3600.
``DESKBRIDGE_CUSTOM_CALL_RETENTION_DAYS`` how long the call log of custom integration methods is kept; default 30.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import pydantic
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from deskbridge.exceptions import ConfigurationError
from deskbridge.security.keys import KEY_FILE_NAME, load_or_create_key, parse_key

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """The desk server's settings."""

    model_config = SettingsConfigDict(env_prefix="DESKBRIDGE_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./deskbridge.db"
    secret_key: SecretStr | None = None
    data_dir: Path = Path(".")
    public_url: str | None = None
    tenant: str | None = None
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    custom_call_retention_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError(f"not a database URL: {value!r}") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {url.get_backend_name()!r}; expected sqlite or postgresql")
        return value

    @field_validator("secret_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_key(value.get_secret_value())
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @property
    def url(self) -> URL:
        """The database URL, parsed, with the driver deskbridge uses."""
        url = make_url(self.database_url)
        if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
            url = url.set(drivername="postgresql+psycopg")
        return url

    @cached_property
    def key(self) -> bytes:
        """The 32-byte key for secrets at rest (created in the data folder on first use when not configured)."""
        if self.secret_key is not None:
            return parse_key(self.secret_key.get_secret_value())
        return load_or_create_key(self.data_dir / KEY_FILE_NAME)


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, turning any bad value into one :class:`ConfigurationError` line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        name = "DESKBRIDGE_" + str(err["loc"][0]).upper() if err["loc"] else "DESKBRIDGE settings"
        raise ConfigurationError(f"{name}: {err['msg'].removeprefix('Value error, ')}") from None
