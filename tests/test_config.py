"""Settings and the key for secrets at rest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskbridge.config import load_settings
from deskbridge.exceptions import ConfigurationError
from deskbridge.security.keys import generate_key
from deskbridge.security.secretbox import SecretBox


def test_key_file_is_created_0600_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKBRIDGE_SECRET_KEY", raising=False)
    first = load_settings(data_dir=tmp_path).key
    path = tmp_path / "deskbridge.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_settings(data_dir=tmp_path).key == first


def test_env_key_wins_and_bad_values_name_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKBRIDGE_SECRET_KEY", generate_key())
    assert len(load_settings(data_dir=tmp_path).key) == 32
    assert not (tmp_path / "deskbridge.key").exists()
    monkeypatch.setenv("DESKBRIDGE_SECRET_KEY", "too-short")
    with pytest.raises(ConfigurationError, match="DESKBRIDGE_SECRET_KEY: must be 32 bytes"):
        load_settings()
    (tmp_path / "deskbridge.key").write_text("garbage")
    monkeypatch.delenv("DESKBRIDGE_SECRET_KEY")
    with pytest.raises(ConfigurationError, match=r"deskbridge\.key"):
        _ = load_settings(data_dir=tmp_path).key


def test_secretbox_binds_purpose_and_key() -> None:
    box = SecretBox(bytes(range(32)))
    sealed = box.seal("canary-3f9c", purpose="integration:syncro:api_key")
    assert "canary" not in sealed
    assert box.open(sealed, purpose="integration:syncro:api_key") == "canary-3f9c"
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        box.open(sealed, purpose="integration:other:api_key")
    with pytest.raises(ConfigurationError):
        SecretBox(bytes(32)).open(sealed, purpose="integration:syncro:api_key")


@given(st.text(max_size=200))
def test_secretbox_round_trips_any_text(text: str) -> None:
    try:
        text.encode()
    except UnicodeEncodeError:
        return
    box = SecretBox(bytes(range(32)))
    assert box.open(box.seal(text, purpose="p"), purpose="p") == text
