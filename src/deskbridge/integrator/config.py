"""The integrator's config file (``appsettings.json``): connection, modules, logs folder, schedule.

The file names one connection to the desk at the top level, or several linked instances (prod/uat/dev) under
``instances``, never both::

    {
      "$schema": "appsettings.schema.json",
      "version": 1,
      "mode": "api",
      "desk_url": "https://desk.example.com",
      "client_id": "integrator",
      "client_secret": "enc:v1:v1.…",
      "modules": [{"integration": "syncro", "entities": ["customers", "assets"]}]
    }

Secrets (``client_secret``, ``database_url``, also inside ``instances``) are stored sealed with
:class:`~deskbridge.security.secretbox.SecretBox` as ``enc:v1:<sealed>``. The key comes from
``DESKBRIDGE_SECRET_KEY``, or else from the key file ``deskbridge.key`` beside the config file (mode 0600, created on
the first save). A secret typed into the file in plain text is accepted and sealed at the next save. Every problem
with the file is one :class:`~deskbridge.exceptions.ConfigurationError` line naming the file, the key and the
reason, and never a secret value.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from deskbridge.exceptions import ConfigurationError
from deskbridge.integrator.schedule import validate_cron
from deskbridge.security.keys import KEY_FILE_NAME, load_or_create_key, parse_key
from deskbridge.security.secretbox import SecretBox

__all__ = [
    "SCHEMA_FILE_NAME",
    "Connection",
    "InstanceConfig",
    "IntegratorConfig",
    "ModuleConfig",
    "config_json_schema",
    "load_config",
    "save_config",
]

SCHEMA_FILE_NAME = "appsettings.schema.json"
_ENC_PREFIX = "enc:v1:"
_SECRET_KEYS = ("client_secret", "database_url")
_API_ONLY = ("auth_url", "tenant", "client_id", "client_secret")
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

Mode = Literal["api", "db"]
_Name = Annotated[str, Field(min_length=1, max_length=64, pattern=_NAME)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _check_http_url(value: str | None) -> str | None:
    if value is None:
        return None
    if "@" in value:
        raise ValueError("must not contain credentials; use client_id and client_secret")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("has a bad port number") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("must be an http(s) URL without query or fragment, e.g. https://desk.example.com")
    return value.rstrip("/")


def _missing(key: str, reason: str) -> PydanticCustomError:
    return PydanticCustomError("connection", "{reason}", {"key": key, "reason": reason})


class _ConnectionFields(_Strict):
    mode: Mode | None = Field(
        default=None,
        description='"api": through the desk REST API with OAuth2 client credentials; "db": straight to the '
        "desk database. When absent it is inferred from the keys present.",
    )
    desk_url: str | None = Field(
        default=None,
        description="The desk's base URL (http or https; a trailing slash is dropped). Required in api mode.",
    )
    auth_url: str | None = Field(
        default=None, description="The OAuth2 token endpoint; default <desk_url>/auth/token. api mode only."
    )
    tenant: str | None = Field(default=None, min_length=1, description="Tenant name for hosted desks. api mode only.")
    client_id: str | None = Field(
        default=None, min_length=1, description="OAuth2 client id of the desk API application. Required in api mode."
    )
    client_secret: SecretStr | None = Field(
        default=None,
        description="OAuth2 client secret, stored as enc:v1:<sealed>; plain text is accepted and sealed at the "
        "next save. Required in api mode.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the desk database (sqlite:///… or postgresql://…), stored as "
        "enc:v1:<sealed>; plain text is accepted and sealed at the next save. Required in db mode.",
    )

    @field_validator("desk_url", "auth_url")
    @classmethod
    def _check_urls(cls, value: str | None) -> str | None:
        return _check_http_url(value)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        from sqlalchemy.engine import make_url  # DB mode only: API mode never loads SQLAlchemy
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value.get_secret_value()).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL; expected sqlite:///path.db or postgresql://user:pw@host/db") from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported database {backend!r}; expected sqlite or postgresql")
        return value

    def _has_connection_keys(self) -> list[str]:
        return [k for k in _ConnectionFields.model_fields if getattr(self, k) is not None]

    def _resolved_mode(self) -> Mode:
        if self.mode is not None:
            return self.mode
        api_keys = any(getattr(self, k) is not None for k in ("desk_url", *_API_ONLY))
        if self.database_url is not None and self.client_id is None and self.client_secret is None:
            return "db"
        if api_keys and self.database_url is not None:
            raise _missing("mode", 'required when both api keys and database_url are present: "api" or "db"')
        if api_keys:
            return "api"
        raise _missing("mode", 'required: "api" (with desk_url, client_id, client_secret) or "db" (with database_url)')

    def _check_connection(self) -> None:
        mode = self._resolved_mode()
        if mode == "api":
            for key in ("desk_url", "client_id", "client_secret"):
                if getattr(self, key) is None:
                    raise _missing(key, "required in api mode")
            if self.database_url is not None:
                raise _missing("database_url", "only used in db mode")
        else:
            if self.database_url is None:
                raise _missing("database_url", "required in db mode")
            for key in _API_ONLY:
                if getattr(self, key) is not None:
                    raise _missing(key, "only used in api mode")

    def _connection(self, name: str) -> Connection:
        mode = self._resolved_mode()
        auth_url = self.auth_url or (f"{self.desk_url}/auth/token" if self.desk_url and mode == "api" else None)
        return Connection(
            name=name,
            mode=mode,
            desk_url=self.desk_url,
            auth_url=auth_url,
            tenant=self.tenant,
            client_id=self.client_id,
            client_secret=self.client_secret,
            database_url=self.database_url,
        )


@dataclass(slots=True, frozen=True)
class Connection:
    """One resolved connection to a desk: the top-level one, or one linked instance."""

    name: str
    mode: Mode
    desk_url: str | None
    auth_url: str | None
    tenant: str | None
    client_id: str | None
    client_secret: SecretStr | None
    database_url: SecretStr | None


class InstanceConfig(_ConnectionFields):
    """One linked desk instance (prod, uat, dev …) with its own connection."""

    name: _Name = Field(description="The instance's name (letters, digits, _ . -), unique in the file.")

    @model_validator(mode="after")
    def _check(self) -> InstanceConfig:
        self._check_connection()
        return self


class ModuleConfig(_Strict):
    """One integration this integrator runs, and which of its entities."""

    integration: _Name = Field(description="The integration's plugin name, e.g. syncro or csv_import.")
    entities: list[_Name] = Field(
        default=[], description="Entities to sync; empty means every entity enabled for the integrator in the desk."
    )

    @field_validator("entities")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        dupes = sorted({e for e in value if value.count(e) > 1})
        if dupes:
            raise ValueError(f"lists {', '.join(map(repr, dupes))} more than once")
        return value


class IntegratorConfig(_ConnectionFields):
    """The whole config file of one integrator."""

    version: Literal[1] = Field(default=1, description="Format version of this file; always 1.")
    instance: _Name = Field(default="default", description="This instance's name (single-connection form only).")
    instances: list[InstanceConfig] | None = Field(
        default=None,
        description="Linked instances (prod/uat/dev), each with its own connection. Use either this or the "
        "top-level connection keys, not both.",
    )
    modules: list[ModuleConfig] = Field(default=[], description="The integrations (and entities) this file runs.")
    logs_dir: str = Field(
        default="logs",
        min_length=1,
        description="Folder for the daily log files; a relative path is taken from the folder the integrator "
        "starts in.",
    )
    schedule: str | None = Field(
        default=None, description="Cron expression (5 fields, local time) this file is meant to run on."
    )
    lease_seconds: int = Field(
        default=120, ge=2, le=3600, description="How long a run's lease lives without a heartbeat, in seconds."
    )
    batch_size: int = Field(default=1000, ge=1, le=5000, description="Records written to the desk per batch.")

    @field_validator("schedule")
    @classmethod
    def _check_schedule(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return validate_cron(value)
        except ConfigurationError as exc:
            raise ValueError(str(exc).removeprefix(f"schedule {value!r}: ")) from None

    @model_validator(mode="after")
    def _check(self) -> IntegratorConfig:
        names = [m.integration for m in self.modules]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _missing(f"modules[{i}].integration", f"{name!r} is listed twice; merge its entities")
        if self.instances is None:
            self._check_connection()
            return self
        beside = self._has_connection_keys()
        if beside:
            raise _missing(beside[0], "not allowed beside instances; each instance holds its own connection")
        if "instance" in self.model_fields_set:
            raise _missing("instance", "not used beside instances; each instance has its own name")
        if not self.instances:
            raise _missing("instances", "must list at least one instance")
        seen: set[str] = set()
        for i, inst in enumerate(self.instances):
            if inst.name in seen:
                raise _missing(f"instances[{i}].name", f"{inst.name!r} is used twice")
            seen.add(inst.name)
        return self

    def connections(self) -> list[Connection]:
        """Return the connections this file names: the top-level one, or one per linked instance."""
        if self.instances is not None:
            return [inst._connection(inst.name) for inst in self.instances]
        return [self._connection(self.instance)]

    def connection(self, name: str | None = None) -> Connection:
        """Return the connection called ``name``, or the only one when ``name`` is ``None``.

        Raises:
            ConfigurationError: no such instance, or ``name`` is ``None`` and there are several.
        """
        found = self.connections()
        if name is None and len(found) == 1:
            return found[0]
        for conn in found:
            if conn.name == name:
                return conn
        names = sorted(c.name for c in found)
        raise ConfigurationError(f"instance {name!r}: expected one of {names}")

    def logs_path(self) -> Path:
        """Return the logs folder, a relative ``logs_dir`` taken from the current working folder."""
        path = Path(self.logs_dir).expanduser()
        return path if path.is_absolute() else Path.cwd() / path

    def secret_values(self) -> list[str]:
        """Return the plain secrets this file holds (for the log redactor): client secrets, database passwords."""
        values: list[str] = []
        for conn in self.connections():
            if conn.client_secret is not None:
                values.append(conn.client_secret.get_secret_value())
            if conn.database_url is not None:
                from sqlalchemy.engine import make_url

                password = make_url(conn.database_url.get_secret_value()).password
                if password:
                    values.append(str(password))
        return values

    def with_module_enabled(self, integration: str, entity: str | None = None) -> IntegratorConfig:
        """Return a copy that runs ``integration`` (all its entities, or ``entity`` in addition to those listed)."""
        modules = list(self.modules)
        for i, module in enumerate(modules):
            if module.integration == integration:
                if entity is None:
                    modules[i] = ModuleConfig(integration=integration)
                elif module.entities and entity not in module.entities:
                    modules[i] = ModuleConfig(integration=integration, entities=[*module.entities, entity])
                return self._replace_modules(modules)
        modules.append(_build(ModuleConfig, {"integration": integration, "entities": [entity] if entity else []}))
        return self._replace_modules(modules)

    def with_module_disabled(
        self, integration: str, entity: str | None = None, *, known_entities: Sequence[str] | None = None
    ) -> IntegratorConfig:
        """Return a copy that no longer runs ``integration``, or only no longer its ``entity``.

        Args:
            integration: The integration's name.
            entity: One entity to stop; ``None`` removes the whole module.
            known_entities: The integration's entities, needed to drop one from a module that runs them all.

        Raises:
            ConfigurationError: the module runs all entities and ``known_entities`` was not given.
        """
        modules = []
        for module in self.modules:
            if module.integration != integration:
                modules.append(module)
            elif entity is not None:
                entities = list(module.entities) or list(known_entities or ())
                if not entities:
                    raise ConfigurationError(
                        f"modules: {integration!r} runs all its entities; name the ones to keep instead"
                    )
                kept = [e for e in entities if e != entity]
                if kept:
                    modules.append(ModuleConfig(integration=integration, entities=kept))
        return self._replace_modules(modules)

    def _replace_modules(self, modules: list[ModuleConfig]) -> IntegratorConfig:
        return self.model_copy(update={"modules": modules})


def _build(cls: type[ModuleConfig], data: dict[str, Any]) -> ModuleConfig:
    try:
        return cls.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ConfigurationError(f"modules: {_describe_error(exc)}") from None


# --- file ---------------------------------------------------------------------------------------------------------


def load_config(path: Path) -> IntegratorConfig:
    """Read and check the config file at ``path``, opening its sealed secrets.

    Raises:
        ConfigurationError: the file is missing, unreadable, not JSON, or any value is wrong (one line naming the
            file and the key).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigurationError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{path}: must be a JSON object {{...}}, got {_json_type(raw)}")
    raw.pop("$schema", None)
    box: SecretBox | None = None
    for holder, key, where in _secret_slots(raw):
        value = holder[key]
        if not isinstance(value, str) or not value.startswith("enc:"):
            continue
        if not value.startswith(_ENC_PREFIX):
            raise ConfigurationError(f"{path}: {where}: unknown encryption format; expected {_ENC_PREFIX}…")
        if box is None:
            key_bytes = _key(path, create=False)
            if key_bytes is None:
                raise ConfigurationError(
                    f"{path}: {where}: is encrypted but there is no key: set DESKBRIDGE_SECRET_KEY or put "
                    f"{KEY_FILE_NAME} beside the file"
                )
            box = SecretBox(key_bytes)
        try:
            holder[key] = box.open(value.removeprefix(_ENC_PREFIX), purpose=f"integrator-config:{key}")
        except ConfigurationError:
            raise ConfigurationError(
                f"{path}: {where}: cannot be decrypted with this key (DESKBRIDGE_SECRET_KEY or {KEY_FILE_NAME} "
                "beside the file); type the secret in again in plain text and save"
            ) from None
    try:
        return IntegratorConfig.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ConfigurationError(f"{path}: {_describe_error(exc)}") from None


def save_config(config: IntegratorConfig, path: Path) -> None:
    """Write ``config`` to ``path`` atomically (mode 0600), sealing its secrets.

    Raises:
        ConfigurationError: the file or the key file cannot be written.
    """
    data: dict[str, Any] = {"$schema": SCHEMA_FILE_NAME}
    data.update(config.model_dump(mode="python", exclude_none=True))
    if config.instances is not None:
        data.pop("instance", None)
        data["instances"] = [{"name": inst.pop("name"), **inst} for inst in data["instances"]]
    box: SecretBox | None = None
    for holder, key, _where in _secret_slots(data):
        if box is None:
            box = SecretBox(_key(path, create=True) or b"")
        holder[key] = _ENC_PREFIX + box.seal(holder[key].get_secret_value(), purpose=f"integrator-config:{key}")
    order = ["$schema", "version", "instance", *_ConnectionFields.model_fields, "instances"]
    ordered = {k: data[k] for k in order if k in data} | data
    text = json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigurationError(f"{path}: cannot write: {exc.strerror}") from None


def config_json_schema() -> dict[str, Any]:
    """Return the JSON schema of the config file (committed as ``docs/appsettings.schema.json``)."""
    schema = IntegratorConfig.model_json_schema()
    schema["properties"] = {
        "$schema": {"type": "string", "description": "The schema of this file, for editors."},
        **schema["properties"],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_FILE_NAME,
        "title": "deskbridge integrator settings (appsettings.json)",
        **{k: v for k, v in schema.items() if k != "title"},
        "description": "Either the top-level connection keys (mode, desk_url, client_id, client_secret or "
        "database_url …) or instances, not both. Secrets are stored as enc:v1:<sealed>.",
    }


def _key(path: Path, *, create: bool) -> bytes | None:
    env = os.environ.get("DESKBRIDGE_SECRET_KEY")
    if env:
        try:
            return parse_key(env)
        except ValueError as exc:
            raise ConfigurationError(f"DESKBRIDGE_SECRET_KEY: {exc}") from None
    key_path = path.parent / KEY_FILE_NAME
    if not create and not key_path.exists():
        return None
    return load_or_create_key(key_path)


def _secret_slots(raw: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str, str]]:
    """Yield (holder, key, dotted path) for every secret present in a raw or dumped config."""
    for key in _SECRET_KEYS:
        if raw.get(key) is not None:
            yield raw, key, key
    instances = raw.get("instances")
    if isinstance(instances, list):
        for i, inst in enumerate(instances):
            if isinstance(inst, dict):
                for key in _SECRET_KEYS:
                    if inst.get(key) is not None:
                        yield inst, key, f"instances[{i}].{key}"


# --- error messages -----------------------------------------------------------------------------------------------


def _describe_error(exc: pydantic.ValidationError) -> str:
    # An unknown key first: a misspelt key also shows up as a missing one.
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    loc: list[str | int] = list(first["loc"])
    ctx = first.get("ctx") or {}
    if "key" in ctx:
        loc.append(str(ctx["key"]))
    where = _dotted(loc)
    reason = _reason(first, loc)
    return f"{where}: {reason}{more}" if where else f"{reason}{more}"


def _reason(err: ErrorDetails, loc: list[str | int]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = sorted(model.model_fields) if model else []
        return f"unknown key; allowed keys: {', '.join(allowed)}"
    if kind.endswith(("_type", "_parsing")) or kind in ("literal_error", "model_attributes_type"):
        return f"must be {_describe(_annotation_at(loc))}, got {_json_type(err['input'])}"
    msg = err["msg"].removeprefix("Value error, ")
    return msg.replace("Input should be", "must be").replace("String should", "must")


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _strip(ann: Any) -> Any:
    if get_origin(ann) is Annotated:
        ann = get_args(ann)[0]
    args = [a for a in get_args(ann) if a is not type(None)]
    if get_origin(ann) is not list and type(None) in get_args(ann) and len(args) == 1:
        return _strip(args[0])
    return ann


def _annotation_at(loc: Sequence[str | int]) -> Any:
    ann: Any = IntegratorConfig
    for part in loc:
        ann = _strip(ann)
        if isinstance(part, int):
            ann = get_args(ann)[0] if get_origin(ann) is list else None
        elif isinstance(ann, type) and issubclass(ann, BaseModel) and part in ann.model_fields:
            ann = ann.model_fields[part].annotation
        else:
            return None
    return _strip(ann)


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    ann = _annotation_at(loc)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _describe(ann: Any) -> str:
    ann = _strip(ann)
    if get_origin(ann) is list:
        inner = _describe(get_args(ann)[0])
        return "a list of " + {"a string": "strings", "an object": "objects", "an integer": "integers"}.get(
            inner, inner
        )
    if get_origin(ann) is Literal:
        choices = [json.dumps(a) for a in get_args(ann)]
        return choices[0] if len(choices) == 1 else "one of " + ", ".join(choices)
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return "an object"
    names: dict[object, str] = {str: "a string", SecretStr: "a string", int: "an integer", bool: "true or false"}
    return names.get(ann, "valid")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    names: dict[type, str] = {str: "a string", list: "a list", dict: "an object"}
    return names.get(type(value), type(value).__name__)
