"""The integrator's config file: models, sealed secrets, one-line errors, the committed JSON schema."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from deskbridge.exceptions import ConfigurationError
from deskbridge.integrator.config import (
    SCHEMA_FILE_NAME,
    IntegratorConfig,
    ModuleConfig,
    config_json_schema,
    load_config,
    save_config,
)
from deskbridge.security.keys import generate_key

CANARY = "Canary-S3cret/+:value"
DB_CANARY = "Db-Canary-Pw0rd"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKBRIDGE_SECRET_KEY", raising=False)


def api_settings(**extra: Any) -> dict[str, Any]:
    return {
        "mode": "api",
        "desk_url": "https://desk.example.com/",
        "client_id": "integrator",
        "client_secret": CANARY,
        "modules": [{"integration": "syncro", "entities": ["customers", "assets"]}],
        **extra,
    }


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return path


def test_api_round_trip_seals_secrets(tmp_path: Path) -> None:
    path = write(tmp_path / "appsettings.json", api_settings(schedule="*/5  * * * *"))
    config = load_config(path)
    assert config.desk_url == "https://desk.example.com"
    (conn,) = config.connections()
    assert (conn.name, conn.mode, conn.auth_url) == ("default", "api", "https://desk.example.com/auth/token")
    assert conn.client_secret is not None and conn.client_secret.get_secret_value() == CANARY
    assert config.schedule == "*/5 * * * *"

    save_config(config, path)
    text = path.read_text()
    assert CANARY not in text
    stored = json.loads(text)
    assert list(stored)[:2] == ["$schema", "version"]
    assert stored["$schema"] == SCHEMA_FILE_NAME and stored["version"] == 1
    assert stored["client_secret"].startswith("enc:v1:")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key_file = tmp_path / "deskbridge.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["appsettings.json", "deskbridge.key"]  # no temp left

    again = load_config(path)
    assert again == config
    save_config(again, path)
    assert json.loads(path.read_text())["client_secret"] != stored["client_secret"]  # fresh nonce each save
    assert load_config(path) == config


def test_env_key_is_used_and_no_key_file_is_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBRIDGE_SECRET_KEY", generate_key())
    path = write(tmp_path / "appsettings.json", api_settings())
    save_config(load_config(path), path)
    assert not (tmp_path / "deskbridge.key").exists()
    assert load_config(path).connection().client_id == "integrator"
    monkeypatch.setenv("DESKBRIDGE_SECRET_KEY", generate_key())
    with pytest.raises(ConfigurationError, match=r"appsettings\.json: client_secret: cannot be decrypted") as exc:
        load_config(path)
    assert CANARY not in str(exc.value)
    monkeypatch.setenv("DESKBRIDGE_SECRET_KEY", "short")
    with pytest.raises(ConfigurationError, match="DESKBRIDGE_SECRET_KEY: must be 32 bytes"):
        load_config(path)


def test_sealed_secret_without_any_key(tmp_path: Path) -> None:
    path = write(tmp_path / "appsettings.json", api_settings())
    save_config(load_config(path), path)
    (tmp_path / "deskbridge.key").unlink()
    with pytest.raises(ConfigurationError, match="client_secret: is encrypted but there is no key"):
        load_config(path)
    assert not (tmp_path / "deskbridge.key").exists()


def test_db_mode_inferred_and_linked_instances(tmp_path: Path) -> None:
    path = write(
        tmp_path / "appsettings.json",
        {
            "instances": [
                {"name": "prod", "database_url": f"postgresql://desk:{DB_CANARY}@db.local/desk"},
                {"name": "uat", "desk_url": "http://uat.local:8000", "client_id": "c", "client_secret": CANARY},
            ]
        },
    )
    config = load_config(path)
    prod, uat = config.connections()
    assert (prod.name, prod.mode, prod.auth_url) == ("prod", "db", None)
    assert (uat.name, uat.mode, uat.auth_url) == ("uat", "api", "http://uat.local:8000/auth/token")
    assert config.connection("uat") == uat
    with pytest.raises(ConfigurationError, match=r"instance None: expected one of \['prod', 'uat'\]"):
        config.connection()
    assert sorted(config.secret_values()) == sorted([DB_CANARY, CANARY])

    save_config(config, path)
    text = path.read_text()
    assert CANARY not in text and DB_CANARY not in text
    stored = json.loads(text)
    assert "instance" not in stored
    assert [next(iter(i)) for i in stored["instances"]] == ["name", "name"]
    assert all(i.get("database_url", i.get("client_secret", "")).startswith("enc:v1:") for i in stored["instances"])
    assert load_config(path) == config


def test_wrong_key_names_the_instance_secret(tmp_path: Path) -> None:
    path = write(
        tmp_path / "appsettings.json",
        {
            "instances": [
                {"name": "a", "database_url": "sqlite:///a.db"},
                {"name": "b", "mode": "api", "desk_url": "http://h", "client_id": "c", "client_secret": CANARY},
            ]
        },
    )
    save_config(load_config(path), path)
    (tmp_path / "deskbridge.key").write_text(generate_key())
    with pytest.raises(ConfigurationError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"{path}: instances[0].database_url: cannot be decrypted")


def test_plain_text_secret_is_accepted_and_sealed_at_next_save(tmp_path: Path) -> None:
    path = write(tmp_path / "appsettings.json", api_settings())
    config = load_config(path)
    save_config(config.with_module_enabled("csv_import"), path)
    assert json.loads(path.read_text())["client_secret"].startswith("enc:v1:")


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"missing\.json: file not found"):
        load_config(tmp_path / "missing.json")
    bad = write(tmp_path / "bad.json", '{\n  "mode": "api",\n  "desk_url": \n}')
    with pytest.raises(ConfigurationError, match=r"bad\.json: not valid JSON: Expecting value at line 4 column 1"):
        load_config(bad)
    with pytest.raises(ConfigurationError, match=r"list\.json: must be a JSON object"):
        load_config(write(tmp_path / "list.json", "[]"))
    with pytest.raises(ConfigurationError, match=r"enc\.json: client_secret: unknown encryption format"):
        load_config(write(tmp_path / "enc.json", api_settings(client_secret="enc:v9:xyz")))
    (tmp_path / "bom.json").write_text(json.dumps(api_settings()), encoding="utf-8-sig")
    assert load_config(tmp_path / "bom.json").client_id == "integrator"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            api_settings(modules=[{"integration": "syncro", "entities": "assets"}]),
            "modules[0].entities: must be a list of strings, got a string",
        ),
        (
            api_settings(modules=[{"integration": "syncro", "entities": ["a", 1]}]),
            "modules[0].entities[1]: must be a string, got a number",
        ),
        (
            api_settings(modules=[{"integration": "syncro", "entities": ["a", "a"]}]),
            "modules[0].entities: lists 'a' more than once",
        ),
        (
            api_settings(modules=[{"integratoin": "syncro"}]),
            "modules[0].integratoin: unknown key; allowed keys: entities, integration",
        ),
        (api_settings(modules=[{"entities": []}]), "modules[0].integration: required key is missing"),
        (
            api_settings(modules=[{"integration": "a"}, {"integration": "a"}]),
            "modules[1].integration: 'a' is listed twice",
        ),
        (api_settings(modules=[{"integration": "a b"}]), "modules[0].integration: must match pattern"),
        (api_settings(modules={"integration": "a"}), "modules: must be a list of objects, got an object"),
        (api_settings(colour="blue"), "colour: unknown key; allowed keys: auth_url, batch_size"),
        (api_settings(client_secret=None), "client_secret: required in api mode"),
        (api_settings(client_secret=42), "client_secret: must be a string, got a number"),
        (api_settings(desk_url="ftp://x"), "desk_url: must be an http(s) URL"),
        (api_settings(desk_url=f"https://u:{CANARY}@x"), "desk_url: must not contain credentials"),
        (api_settings(database_url="sqlite:///x.db"), "database_url: only used in db mode"),
        (api_settings(mode="ftp"), 'mode: must be one of "api", "db", got a string'),
        (api_settings(batch_size="10"), "batch_size: must be an integer, got a string"),
        (api_settings(batch_size=5001), "batch_size: must be less than or equal to 5000"),
        (api_settings(lease_seconds=1), "lease_seconds: must be greater than or equal to 2"),
        (api_settings(schedule="every day"), "schedule: a cron expression has 5 fields"),
        (api_settings(version=2), "version: must be 1"),
        ({"mode": "db"}, "database_url: required in db mode"),
        ({"mode": "db", "database_url": "sqlite:///a.db", "client_id": "x"}, "client_id: only used in api mode"),
        ({"database_url": "mysql://u:p@h/d"}, "database_url: unsupported database 'mysql'"),
        ({"database_url": f"not a url {CANARY}"}, "database_url: not a database URL"),
        ({"database_url": "sqlite:///a.db", "client_id": "x", "client_secret": CANARY}, "mode: required when both"),
        ({}, 'mode: required: "api"'),
        ({"instances": []}, "instances: must list at least one instance"),
        (
            {"instances": [{"name": "p", "database_url": "sqlite:///a.db"}], "client_id": "x"},
            "client_id: not allowed beside instances",
        ),
        (
            {"instances": [{"name": "p", "database_url": "sqlite:///a.db"}], "instance": "x"},
            "instance: not used beside instances",
        ),
        (
            {
                "instances": [
                    {"name": "p", "database_url": "sqlite:///a.db"},
                    {"name": "p", "database_url": "sqlite:///b.db"},
                ]
            },
            "instances[1].name: 'p' is used twice",
        ),
        (
            {
                "instances": [
                    {"name": "p", "database_url": "sqlite:///a.db"},
                    {"name": "u", "mode": "api", "client_secret": CANARY},
                ]
            },
            "instances[1].desk_url: required in api mode",
        ),
        ({"instances": [{"database_url": "sqlite:///a.db"}]}, "instances[0].name: required key is missing"),
        (
            {"instances": [{"name": "p", "database_url": 5}]},
            "instances[0].database_url: must be a string, got a number",
        ),
    ],
)
def test_value_errors_are_one_line_naming_file_and_key(tmp_path: Path, data: dict[str, Any], message: str) -> None:
    path = write(tmp_path / "appsettings.json", data)
    with pytest.raises(ConfigurationError) as exc:
        load_config(path)
    text = str(exc.value)
    assert text.startswith(f"{path}: {message}"), text
    assert "\n" not in text
    assert CANARY not in text and DB_CANARY not in text


def test_error_message_never_shows_secret_values_of_the_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path / "appsettings.json", api_settings(client_secret=[CANARY]))
    with pytest.raises(ConfigurationError, match="client_secret: must be a string, got a list") as exc:
        load_config(path)
    assert CANARY not in str(exc.value)


def test_modules_helpers() -> None:
    config = IntegratorConfig.model_validate(api_settings(modules=[]))
    one = config.with_module_enabled("syncro", "assets").with_module_enabled("syncro", "customers")
    assert one.modules == [ModuleConfig(integration="syncro", entities=["assets", "customers"])]
    assert config.modules == []  # the original is unchanged
    assert one.with_module_disabled("syncro", "assets").modules == [
        ModuleConfig(integration="syncro", entities=["customers"])
    ]
    assert one.with_module_disabled("syncro", "assets").with_module_disabled("syncro", "customers").modules == []
    everything = one.with_module_enabled("syncro")
    assert everything.modules == [ModuleConfig(integration="syncro", entities=[])]
    assert everything.with_module_enabled("syncro", "assets") == everything
    with pytest.raises(ConfigurationError, match="runs all its entities"):
        everything.with_module_disabled("syncro", "assets")
    narrowed = everything.with_module_disabled("syncro", "assets", known_entities=["assets", "sites"])
    assert narrowed.modules == [ModuleConfig(integration="syncro", entities=["sites"])]
    assert everything.with_module_disabled("syncro").modules == []
    with pytest.raises(ConfigurationError, match="modules: integration: must match pattern"):
        config.with_module_enabled("bad name")


def test_logs_dir_is_taken_from_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = IntegratorConfig.model_validate(api_settings())
    assert config.logs_path() == tmp_path / "logs"
    absolute = IntegratorConfig.model_validate(api_settings(logs_dir=str(tmp_path / "x")))
    assert absolute.logs_path() == tmp_path / "x"


def test_defaults() -> None:
    config = IntegratorConfig.model_validate(api_settings())
    assert (config.version, config.instance, config.logs_dir, config.lease_seconds, config.batch_size) == (
        1,
        "default",
        "logs",
        120,
        1000,
    )
    assert config.schedule is None


def test_committed_schema_is_current() -> None:
    committed = json.loads((ROOT / "docs" / "appsettings.schema.json").read_text())
    assert committed == config_json_schema(), "regenerate docs/appsettings.schema.json from config_json_schema()"


def test_every_schema_property_is_described() -> None:
    schema = config_json_schema()
    models = [schema, *schema["$defs"].values()]
    for model in models:
        for name, prop in model["properties"].items():
            assert prop.get("description"), name
    assert schema["additionalProperties"] is False
    assert "$schema" in schema["properties"]
