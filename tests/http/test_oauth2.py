from __future__ import annotations

import asyncio
import base64
import json
import logging
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, unquote_plus

import httpx
import pytest
from pydantic import SecretStr

from deskbridge.exceptions import AuthenticationError, ConfigurationError, RetriableError
from deskbridge.http import ClientCredentialsAuth, RetryPolicy, build_client

TOKEN_URL = "http://127.0.0.1:8/oauth/token"
SECRET = "CANARY-s3cr3t:+/ &%=é"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_auth(clock: Clock | None = None, **kwargs: object) -> ClientCredentialsAuth:
    params: dict[str, object] = {"token_url": TOKEN_URL, "client_id": "client-1", "client_secret": SECRET}
    params.update(kwargs)
    return ClientCredentialsAuth(clock=clock or Clock(), **params)  # type: ignore[arg-type]


def token_response(token: str = "tok-1", expires_in: object = 3600, **extra: object) -> httpx.Response:
    body: dict[str, object] = {"access_token": token, "token_type": "Bearer", **extra}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return httpx.Response(200, json=body)


def api_request() -> httpx.Request:
    return httpx.Request("GET", "http://127.0.0.1:8/api/items")


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


# -- driving the generator by hand -------------------------------------------------------------------------------


def test_first_request_fetches_a_token_then_authorizes() -> None:
    auth = make_auth(scope="all", extra_params={"tenant": "acme"})
    flow = auth.sync_auth_flow(api_request())
    token_req = next(flow)
    assert token_req.method == "POST" and str(token_req.url) == TOKEN_URL
    assert token_req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(token_req) == {"grant_type": ["client_credentials"], "scope": ["all"], "tenant": ["acme"]}
    api_req = flow.send(token_response("tok-1"))
    assert api_req.headers["Authorization"] == "Bearer tok-1"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200))


def test_auth_flow_is_the_sync_flow() -> None:
    flow = make_auth().auth_flow(api_request())
    assert str(next(flow).url) == TOKEN_URL
    assert flow.send(token_response("tok-1")).headers["Authorization"] == "Bearer tok-1"


def test_token_is_reused() -> None:
    auth = make_auth()
    flow = auth.sync_auth_flow(api_request())
    next(flow)
    flow.send(token_response("tok-1"))
    flow = auth.sync_auth_flow(api_request())
    assert next(flow).headers["Authorization"] == "Bearer tok-1"  # no token request this time


def test_token_refreshed_ahead_of_expiry() -> None:
    clock = Clock()
    auth = make_auth(clock, skew=60)
    flow = auth.sync_auth_flow(api_request())
    next(flow)
    flow.send(token_response("tok-1", expires_in=600))
    clock.now += 539  # 61 s left: still good
    assert next(auth.sync_auth_flow(api_request())).headers["Authorization"] == "Bearer tok-1"
    clock.now += 1  # 60 s left: replace it
    flow = auth.sync_auth_flow(api_request())
    assert str(next(flow).url) == TOKEN_URL
    assert flow.send(token_response("tok-2")).headers["Authorization"] == "Bearer tok-2"


def test_short_lived_token_is_replaced_half_way_not_on_every_request() -> None:
    clock = Clock()
    auth = make_auth(clock, skew=60)
    flow = auth.sync_auth_flow(api_request())
    next(flow)
    flow.send(token_response("tok-1", expires_in=30))
    clock.now += 14
    assert next(auth.sync_auth_flow(api_request())).headers["Authorization"] == "Bearer tok-1"
    clock.now += 1
    assert str(next(auth.sync_auth_flow(api_request())).url) == TOKEN_URL


def test_token_without_expires_in_never_expires() -> None:
    clock = Clock()
    auth = make_auth(clock)
    flow = auth.sync_auth_flow(api_request())
    next(flow)
    flow.send(token_response("tok-1", expires_in=None))
    clock.now += 10**9
    assert next(auth.sync_auth_flow(api_request())).headers["Authorization"] == "Bearer tok-1"


def test_one_refresh_on_401_then_give_up() -> None:
    auth = make_auth()
    flow = auth.sync_auth_flow(api_request())
    next(flow)
    flow.send(token_response("tok-1"))
    token_req = flow.send(httpx.Response(401))
    assert str(token_req.url) == TOKEN_URL
    retried = flow.send(token_response("tok-2"))
    assert retried.headers["Authorization"] == "Bearer tok-2"
    with pytest.raises(StopIteration):  # a second 401 is the caller's to handle: no loop
        flow.send(httpx.Response(401))


def test_401_after_another_caller_refreshed_reuses_the_new_token() -> None:
    auth = make_auth()
    first = auth.sync_auth_flow(api_request())
    next(first)
    first.send(token_response("tok-1"))  # first's API request goes out with tok-1
    second = auth.sync_auth_flow(api_request())
    next(second)
    assert str(second.send(httpx.Response(401)).url) == TOKEN_URL
    second.send(token_response("tok-2"))
    retried = first.send(httpx.Response(401))  # tok-1 rejected, but tok-2 is already there
    assert retried.headers["Authorization"] == "Bearer tok-2"


def test_async_flow_by_hand() -> None:
    auth = make_auth()

    async def main() -> list[str]:
        flow = auth.async_auth_flow(api_request())
        seen = [str((await flow.__anext__()).url)]
        seen.append((await flow.asend(token_response("tok-a"))).headers["Authorization"])
        seen.append(str((await flow.asend(httpx.Response(401))).url))
        seen.append((await flow.asend(token_response("tok-b"))).headers["Authorization"])
        with pytest.raises(StopAsyncIteration):
            await flow.asend(httpx.Response(200))
        return seen

    assert asyncio.run(main()) == [TOKEN_URL, "Bearer tok-a", TOKEN_URL, "Bearer tok-b"]


def test_on_secret_is_called_with_every_token() -> None:
    seen: list[str] = []
    auth = make_auth(on_secret=seen.append)
    flow = auth.sync_auth_flow(api_request())
    next(flow)
    flow.send(token_response("tok-1"))
    flow.send(httpx.Response(401))
    flow.send(token_response("tok-2"))
    assert seen == ["tok-1", "tok-2"]


# -- client authentication encodings -----------------------------------------------------------------------------


def test_client_secret_basic_form_encodes_before_base64() -> None:
    auth = make_auth(client_id="id:with space")
    request = auth.token_request()
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    decoded = base64.b64decode(value).decode("ascii")
    user, _, password = decoded.partition(":")  # only one ':' survives: the separator
    assert user == "id%3Awith+space"
    assert password == "CANARY-s3cr3t%3A%2B%2F+%26%25%3D%C3%A9"
    assert unquote_plus(password) == SECRET
    assert "client_secret" not in form(request)


def test_client_secret_post_puts_credentials_in_the_form() -> None:
    auth = make_auth(client_auth="client_secret_post", client_secret=SecretStr(SECRET))
    request = auth.token_request()
    assert "Authorization" not in request.headers
    assert form(request) == {
        "grant_type": ["client_credentials"],
        "client_id": ["client-1"],
        "client_secret": [SECRET],
    }


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown client_auth 'jwt'"):
        make_auth(client_auth="jwt")
    with pytest.raises(ConfigurationError, match="absolute http"):
        make_auth(token_url="/token")
    with pytest.raises(ConfigurationError, match="skew"):
        make_auth(skew=-1)
    with pytest.raises(ConfigurationError, match=r"extra_params must not set \['client_secret', 'grant_type'\]"):
        make_auth(extra_params={"grant_type": "password", "client_secret": "x"})


def test_repr_hides_the_secret() -> None:
    assert SECRET not in repr(make_auth()) and "client-1" in repr(make_auth())


# -- token endpoint errors ---------------------------------------------------------------------------------------


def fail_with(response: httpx.Response) -> Exception:
    flow = make_auth().sync_auth_flow(api_request())
    next(flow)
    with pytest.raises(Exception) as info:
        flow.send(response)
    return info.value


def test_invalid_client_is_an_authentication_error_without_the_secret() -> None:
    exc = fail_with(
        httpx.Response(401, json={"error": "invalid_client", "error_description": f"wrong secret {SECRET}"})
    )
    assert isinstance(exc, AuthenticationError)
    assert str(exc) == (f"token endpoint {TOKEN_URL} refused the client credentials: invalid_client (wrong secret ***)")


def test_400_error_is_an_authentication_error() -> None:
    exc = fail_with(httpx.Response(400, json={"error": "invalid_scope"}))
    assert isinstance(exc, AuthenticationError) and str(exc).endswith("invalid_scope")


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_retriable(status: int) -> None:
    assert isinstance(fail_with(httpx.Response(status)), RetriableError)


@pytest.mark.parametrize(
    ("response", "words"),
    [
        (httpx.Response(200, text="<html>login</html>"), "not a JSON object"),
        (httpx.Response(200, json=["x"]), "not a JSON object"),
        (httpx.Response(200, json={"token_type": "Bearer"}), "without an access_token"),
        (httpx.Response(200, json={"access_token": "", "token_type": "Bearer"}), "without an access_token"),
        (httpx.Response(200, json={"access_token": "t", "token_type": "mac"}), "only Bearer"),
        (httpx.Response(200, json={"access_token": "t", "expires_in": "soon"}), "not seconds"),
        (httpx.Response(404, text="nope"), "answered 404"),
    ],
)
def test_unusable_answers_are_authentication_errors(response: httpx.Response, words: str) -> None:
    exc = fail_with(response)
    assert isinstance(exc, AuthenticationError) and words in str(exc)


def test_failed_fetch_releases_the_lock() -> None:
    auth = make_auth()
    flow = auth.sync_auth_flow(api_request())
    next(flow)
    with pytest.raises(RetriableError):
        flow.send(httpx.Response(503))
    flow = auth.sync_auth_flow(api_request())
    assert str(next(flow).url) == TOKEN_URL  # would deadlock if the lock were still held


def test_abandoned_flow_releases_the_lock() -> None:
    auth = make_auth()
    flow = auth.sync_auth_flow(api_request())
    next(flow)  # lock held while the token request is out
    flow.close()  # e.g. the token request raised a transport error
    assert str(next(auth.sync_auth_flow(api_request())).url) == TOKEN_URL


# -- through a client --------------------------------------------------------------------------------------------


class FakeServer:
    """A token endpoint and an API, as an httpx.MockTransport handler."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.token_requests = 0
        self.api_requests = 0
        self.expires_in = expires_in
        self.valid: set[str] = set()
        self.lock = threading.Lock()
        self.token_hook: Callable[[], None] = lambda: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.token_hook()
            with self.lock:
                self.token_requests += 1
                token = f"tok-{self.token_requests}"
                self.valid.add(token)
            return httpx.Response(
                200, json={"access_token": token, "token_type": "bearer", "expires_in": self.expires_in}
            )
        with self.lock:
            self.api_requests += 1
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.valid:
            return httpx.Response(401, json={"detail": "bad token"})
        return httpx.Response(200, json={"token": token, "body": request.content.decode()})


def test_client_401_refresh_resends_the_body() -> None:
    server = FakeServer()
    auth = make_auth()
    with build_client(auth=auth, transport=httpx.MockTransport(server)) as c:
        assert c.post("http://127.0.0.1:8/api/x", json={"a": 1}).json()["token"] == "tok-1"
        server.valid.clear()  # the server forgets the token before its expiry
        r = c.post("http://127.0.0.1:8/api/x", json={"a": 1})
    assert r.status_code == 200 and r.json() == {"token": "tok-2", "body": '{"a":1}'}
    assert server.token_requests == 2


def test_client_gives_up_after_one_refresh() -> None:
    server = FakeServer()
    server.valid = set()

    def never_valid() -> None:
        server.valid.clear()

    server.token_hook = never_valid
    original = server.__call__

    def handler(request: httpx.Request) -> httpx.Response:
        response = original(request)
        server.valid.clear()  # tokens are refused by the API whatever happens
        return response

    with build_client(auth=make_auth(), transport=httpx.MockTransport(handler)) as c:
        r = c.get("http://127.0.0.1:8/api/x")
    assert r.status_code == 401
    assert server.token_requests == 2 and server.api_requests == 2


class CountingLock:
    """A lock that counts callers that asked for it, so a test can wait until they all queue up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.asked = 0
        self.changed = threading.Condition()

    def acquire(self) -> bool:
        with self.changed:
            self.asked += 1
            self.changed.notify_all()
        return self._lock.acquire()

    def release(self) -> None:
        self._lock.release()


def test_single_flight_with_eight_threads() -> None:
    server = FakeServer()
    lock = CountingLock()
    auth = make_auth()
    auth._sync_lock = lock  # type: ignore[assignment]
    release = threading.Event()

    def held_token_request() -> None:
        # Answer the one token request only when all eight threads have asked for the lock.
        with lock.changed:
            assert lock.changed.wait_for(lambda: lock.asked == 8, timeout=10)
        release.set()

    server.token_hook = held_token_request
    results: list[int] = []
    errors: list[Exception] = []

    with build_client(auth=auth, transport=httpx.MockTransport(server)) as c:

        def work() -> None:
            try:
                results.append(c.get("http://127.0.0.1:8/api/x").status_code)
            except Exception as exc:  # noqa: BLE001 - collected and asserted on below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
    assert errors == []
    assert release.is_set()
    assert results == [200] * 8
    assert server.token_requests == 1


def test_async_auth_survives_two_event_loops() -> None:
    server = FakeServer()

    async def handler(request: httpx.Request) -> httpx.Response:
        return server(request)

    auth = make_auth()

    async def main() -> int:
        from deskbridge.http import build_async_client

        async with build_async_client(auth=auth, transport=httpx.MockTransport(handler)) as c:
            server.valid.clear()  # force a token fetch (lock taken) on every run
            return (await c.get("http://127.0.0.1:8/api/x")).status_code

    assert [asyncio.run(main()), asyncio.run(main())] == [200, 200]


def test_async_single_flight() -> None:
    server = FakeServer()
    auth = make_auth()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            await asyncio.sleep(0)  # let the other tasks reach the lock
        return server(request)

    async def main() -> list[int]:
        from deskbridge.http import build_async_client

        async with build_async_client(auth=auth, transport=httpx.MockTransport(handler)) as c:
            responses = await asyncio.gather(*(c.get("http://127.0.0.1:8/api/x") for _ in range(8)))
        return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 8
    assert server.token_requests == 1


def test_token_endpoint_503_is_retried_by_the_client() -> None:
    server = FakeServer()
    answers = iter([httpx.Response(503, headers={"Retry-After": "0"})])

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            nxt = next(answers, None)
            if nxt is not None:
                return nxt
        return server(request)

    with build_client(auth=make_auth(), transport=httpx.MockTransport(handler), retry=RetryPolicy()) as c:
        assert c.get("http://127.0.0.1:8/api/x").status_code == 200


def test_secret_never_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def refuse(request: httpx.Request) -> httpx.Response:
        body = {"error": "invalid_client", "error_description": f"secret {SECRET} is wrong"}
        return httpx.Response(401, json=body)

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out {request.url}")

    failures: list[str] = []
    for handler, method in (
        (refuse, "client_secret_post"),
        (refuse, "client_secret_basic"),
        (timeout, "client_secret_post"),
    ):
        auth = make_auth(client_auth=method)
        with build_client(auth=auth, transport=httpx.MockTransport(handler), retry=RetryPolicy(max_attempts=1)) as c:
            with pytest.raises((AuthenticationError, RetriableError)) as info:
                c.get("http://127.0.0.1:8/api/x")
            failures.append(str(info.value))
            failures.append(repr(info.value))
    assert len(failures) == 6
    encoded = {SECRET, SECRET.replace(" ", "+"), json.dumps(SECRET)[1:-1]}
    for text in failures + [r.getMessage() for r in caplog.records]:
        assert not any(form_ in text for form_ in encoded), text
