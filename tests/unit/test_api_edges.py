"""The HTTP edges that need no store: problem paths, body limit, credentials, log masking."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from gateway.api.body_limit import BodyLimitMiddleware
from gateway.api.problems import field_path
from gateway.auth import Caller, ClientKind, hash_secret, issue_key, secret_matches, split_key
from gateway.logs import MaskPersonalData, mask_text


def test_field_path_reads_like_the_json() -> None:
    assert field_path(("body", "activities", 0, "agency")) == "activities[0].agency"
    assert field_path(("body", "family", "members", 2, "iin")) == "family.members[2].iin"
    assert field_path(("body",)) == "body"
    assert field_path(("query", "limit")) == "limit"


async def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_limit_refuses_declared_and_streamed_bodies(chunked: bool) -> None:
    app = Starlette(
        routes=[Route("/", _echo, methods=["POST"])],
        middleware=[Middleware(BodyLimitMiddleware, max_bytes=100)],
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        ok = await client.post("/", content=b"x" * 100)
        assert ok.status_code == 200 and ok.text == "100"

        async def stream() -> object:
            for _ in range(5):
                yield b"x" * 50

        big = await client.post("/", content=stream() if chunked else b"x" * 250)  # type: ignore[arg-type]
        assert big.status_code == 413
        assert big.headers["content-type"] == "application/problem+json"
        assert big.json()["errors"] == [{"field": "body", "reason": "over 100 bytes"}]


def test_keys_are_stored_hashed_and_checked() -> None:
    key = issue_key()
    assert key.secret_hash not in key.plaintext
    prefix, secret = split_key(key.plaintext)  # type: ignore[misc]
    assert prefix == key.prefix
    assert secret_matches(secret, key.secret_hash)
    assert not secret_matches(secret + "x", key.secret_hash)
    assert hash_secret(secret) == key.secret_hash
    assert split_key("Bearer nonsense") is None


def test_caller_scopes() -> None:
    centre = Caller("c", ClientKind.centre, "almaty-1")
    assert centre.may_see_centre("almaty-1") and not centre.may_see_centre("almaty-2")
    assert Caller("a", ClientKind.admin, None).may_see_centre("anything")
    agency = Caller("h", ClientKind.agency, "health")
    assert agency.may_act_for_agency("health") and not agency.may_act_for_agency("housing")
    assert not agency.may_see_centre("almaty-1")
    assert centre.actor == "centre:almaty-1"


def test_logs_never_carry_an_iin_in_clear(caplog: pytest.LogCaptureFixture) -> None:
    assert mask_text("iin 900101300017, phone 87011234567") == "iin 90********17, phone 87011234567"
    assert mask_text("id 1900101300017") == "id 1900101300017"  # 13 digits: not an IIN
    logger = logging.getLogger("test.masking")
    logger.addFilter(MaskPersonalData())
    with caplog.at_level(logging.INFO, logger="test.masking"):
        logger.info("member %s not found", "900101300017")
    assert "900101300017" not in caplog.text and "90********17" in caplog.text
