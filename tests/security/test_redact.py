"""Redaction of secrets and credential patterns."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from deskbridge.security.redact import REDACTED, Redactor, default_redactor, redact, register_secret

SECRET = 'Sup3r/Secret+Value:"x"\\y'


def forms(secret: str) -> list[str]:
    raw = secret.encode()
    return [
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


@pytest.mark.parametrize("form", forms(SECRET))
def test_each_form_of_a_known_secret_is_hidden(form: str) -> None:
    r = Redactor([SECRET])
    out = r.redact(f"before {form} after")
    assert out == f"before {REDACTED} after"


@pytest.mark.parametrize("prefix", ["u:", "user:", "usr1:", "a-longer-user-name:"])
def test_base64_of_a_value_containing_the_secret_is_hidden(prefix: str) -> None:
    r = Redactor([SECRET])
    blob = base64.b64encode((prefix + SECRET + "!tail").encode()).decode()
    out = r.redact(f"blob={blob}.")
    assert out == f"blob={REDACTED}."


def test_short_values_are_ignored_and_added_at_runtime() -> None:
    r = Redactor(["abc", ""])
    r.add(None)
    assert len(r) == 0 and r.redact("abc") == "abc"
    r.add("later-secret")
    assert r.redact("x later-secret y") == f"x {REDACTED} y"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://desk:hunter22@db:5432/desk", f"postgresql://desk:{REDACTED}@db:5432/desk"),
        ("https://:tok@host/x", f"https://:{REDACTED}@host/x"),
        ("http://host:8080/path?email=a@b.c", "http://host:8080/path?email=a@b.c"),
        ("Authorization: Bearer abc.def.ghi", f"Authorization: Bearer {REDACTED}"),
        ("{'Authorization': 'Basic dXNlcjpwYXNz'}", f"{{'Authorization': 'Basic {REDACTED}'}}"),
        ("authorization=Token xyz123", f"authorization=Token {REDACTED}"),
        ("sent bearer eyJhbGciOiJIUzI1NiJ9.x.y", f"sent bearer {REDACTED}"),
        (
            "grant_type=client_credentials&client_secret=s3&x=1",
            f"grant_type=client_credentials&client_secret={REDACTED}&x=1",
        ),
        ("?access_token=aaa&refresh_token=bbb", f"?access_token={REDACTED}&refresh_token={REDACTED}"),
        ('{"password": "p\\"w", "user": "u"}', f'{{"password": "{REDACTED}", "user": "u"}}'),
        ("{'api_key': 'k1', 'n': 1}", f"{{'api_key': '{REDACTED}', 'n': 1}}"),
        ('{"x_api_key":"k"}', f'{{"x_api_key":"{REDACTED}"}}'),
        ("host=db password=pw user=u", f"host=db password={REDACTED} user=u"),
        ("token_type=bearer expires_in=3600", "token_type=bearer expires_in=3600"),
        ("nothing to see here", "nothing to see here"),
    ],
)
def test_patterns(text: str, expected: str) -> None:
    assert Redactor().redact(text) == expected


def test_default_redactor_and_register_secret() -> None:
    register_secret("registered-at-runtime-1234")
    assert default_redactor().redact("x registered-at-runtime-1234") == f"x {REDACTED}"
    assert redact("x registered-at-runtime-1234") == f"x {REDACTED}"


@given(secret=st.text(min_size=4, max_size=40), before=st.text(max_size=20), after=st.text(max_size=20))
def test_a_known_secret_never_survives(secret: str, before: str, after: str) -> None:
    assume(secret not in REDACTED)
    out = Redactor([secret]).redact(before + secret + after)
    assert secret not in out
