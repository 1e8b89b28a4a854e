"""The database token store: sealed tokens, and token requests single-flight across processes (a lease row)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from sqlalchemy import text

from deskbridge.custom.tokens import DbTokenStore
from deskbridge.http import StoredToken
from deskbridge.security.secretbox import SecretBox
from tests.conftest import Desk
from tests.custom.helpers import create

HOLD = """
import sys, time
from deskbridge.config import Settings
from deskbridge.custom.tokens import DbTokenStore
from deskbridge.db import Database
from deskbridge.security.secretbox import SecretBox
settings = Settings(database_url=sys.argv[1], secret_key=sys.argv[2])
lock = DbTokenStore(Database(settings.url), SecretBox(settings.key)).lock(sys.argv[3])
assert lock.acquire(blocking=False)
print("held", flush=True)
time.sleep(1.0)
lock.release()
print("released", flush=True)
"""


def test_another_process_holding_the_lock_makes_this_one_wait(desk: Desk) -> None:
    integration = create(desk.admin, {"base_url": "https://api.example.test"})
    key = f"custom:{integration['id']}:default"
    store = DbTokenStore(desk.db, SecretBox(desk.settings.key))
    secret_key = desk.settings.secret_key
    assert secret_key is not None
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD), desk.settings.database_url, secret_key.get_secret_value(), key],
        stdout=subprocess.PIPE,
        text=True,
    ) as other:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        lock = store.lock(key)
        assert lock.acquire(blocking=False) is False
        started = time.monotonic()
        assert lock.acquire(timeout=20) is True
        waited = time.monotonic() - started
        assert waited > 0.3, waited
        lock.release()
        other.wait(timeout=20)
    assert other.returncode == 0
    with desk.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM custom_token_lock")).scalar() == 0


def test_tokens_are_sealed_and_survive_a_new_store(desk: Desk) -> None:
    integration = create(desk.admin, {"base_url": "https://api.example.test"})
    key = f"custom:{integration['id']}:prod"
    token = StoredToken("AT-sealed-CANARY-4471", "RT-sealed-CANARY-9912", obtained_at=10.0, expires_at=3610.0)
    DbTokenStore(desk.db, SecretBox(desk.settings.key)).put(key, token)
    with desk.db.engine.connect() as conn:
        raw = str(conn.execute(text("SELECT * FROM custom_token WHERE credential_key = :k"), {"k": key}).one())
    assert "CANARY" not in raw
    assert DbTokenStore(desk.db, SecretBox(desk.settings.key)).get(key) == token
    assert desk.admin.post(f"/api/custom-integrations/{integration['id']}/clear-tokens").json() == {"cleared": 1}
    assert DbTokenStore(desk.db, SecretBox(desk.settings.key)).get(key) is None
