"""The call log's retention: pruned when a call is recorded, when the log is listed, and on a schedule by the desk's
housekeeping (which also drops expired OAuth states), from the moment a desk starts."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import func, select

from deskbridge.app import create_app
from deskbridge.custom import oauth_states
from deskbridge.custom.housekeeping import Housekeeping
from deskbridge.custom.models import CustomCall, CustomOAuthState
from deskbridge.db import utcnow
from deskbridge.http.auth.authcode import authorization_request
from deskbridge.security.secretbox import SecretBox
from tests.conftest import Desk, ServerThread, free_port
from tests.custom.helpers import create, method, run
from tests.http.servers import OAuthState, Uvicorn


def _old_call(desk: Desk, integration_id: int, method_id: int | None, days: float, url: str) -> None:
    with desk.db.session() as session:
        session.add(
            CustomCall(
                integration_id=integration_id,
                method_id=method_id,
                origin="test",
                started_at=utcnow() - timedelta(days=days),
                duration_ms=1.0,
                verb="GET",
                url=url,
                request={},
                outputs={},
            )
        )


def _urls_in_table(desk: Desk, integration_id: int) -> list[str]:
    with desk.db.session(write=False) as session:
        return list(session.scalars(select(CustomCall.url).where(CustomCall.integration_id == integration_id)))


def test_call_log_retention(desk: Desk, oauth_server: tuple[Uvicorn, OAuthState]) -> None:
    srv, _state = oauth_server
    integration = create(desk.admin, {"base_url": srv.url})
    m = method(desk.admin, integration["id"], {"endpoint": "/open/ping"})
    for days, url in ((31, "http://old-31.test/"), (29, "http://old-29.test/")):
        _old_call(desk, integration["id"], m["id"], days, url)
    # Listing the log prunes it: the call past the 30 days is neither shown nor kept.
    calls = desk.admin.get(f"/api/custom-integrations/{integration['id']}/calls").json()
    assert calls["total"] == 1 and [c["url"] for c in calls["items"]] == ["http://old-29.test/"]
    assert _urls_in_table(desk, integration["id"]) == ["http://old-29.test/"]

    _old_call(desk, integration["id"], m["id"], 40, "http://old-40.test/")
    run(desk.admin, integration["id"], m["id"])  # recording a call prunes too
    assert "http://old-40.test/" not in _urls_in_table(desk, integration["id"])
    calls = desk.admin.get(f"/api/custom-integrations/{integration['id']}/calls").json()
    assert calls["total"] == 2
    assert [c["url"] for c in calls["items"]][1] == "http://old-29.test/"  # the 29-day-old one stays
    assert calls["items"][0]["url"].endswith("/open/ping")


def test_housekeeping_prunes_on_a_schedule(desk: Desk) -> None:
    integration = create(desk.admin, {"base_url": "https://api.example.test"})
    box = SecretBox(desk.settings.key)
    request = authorization_request(
        authorize_url="https://login.example.test/authorize", client_id="c", redirect_uri="https://d.test/cb"
    )
    oauth_states.add(
        desk.db,
        box=box,
        integration_id=integration["id"],
        credential_key=f"custom:{integration['id']}:default",
        redirect_uri="https://d.test/cb",
        request=request,
        ttl=0.2,
    )
    _old_call(desk, integration["id"], None, 31, "http://old-31.test/")
    _old_call(desk, integration["id"], None, 1, "http://old-1.test/")
    time.sleep(0.3)  # the state expires
    housekeeping = Housekeeping(desk.db, retention_days=30, every=0.05)
    housekeeping.start()
    try:
        deadline = time.monotonic() + 10
        while housekeeping.sweeps < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        housekeeping.stop()
    assert housekeeping.sweeps >= 2  # at start, then on schedule
    assert _urls_in_table(desk, integration["id"]) == ["http://old-1.test/"]
    with desk.db.session(write=False) as session:
        left = session.scalar(
            select(func.count())
            .select_from(CustomOAuthState)
            .where(CustomOAuthState.integration_id == integration["id"])
        )
    assert left == 0


def test_the_desk_sweeps_when_it_starts(desk: Desk) -> None:
    integration = create(desk.admin, {"base_url": "https://api.example.test"})
    _old_call(desk, integration["id"], None, 45, "http://old-45.test/")
    assert _urls_in_table(desk, integration["id"]) == ["http://old-45.test/"]
    with ServerThread(create_app(desk.settings, database=desk.db), free_port()):  # a desk process starting
        deadline = time.monotonic() + 10
        while _urls_in_table(desk, integration["id"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert _urls_in_table(desk, integration["id"]) == []
