"""Refusing an over-size request body before it is read into memory."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.openapi import PROBLEM, TITLES, problem_type


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for a body over `max_bytes`, whether it declares its length or streams it."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        wider: dict[str, int] | None = None,
        wider_prefix: str = "",
    ) -> None:
        """`wider`: a larger limit for paths under `wider_prefix` ending with a suffix
        (the upload routes of media files), so one route can take files."""
        self.app = app
        self.max_bytes = max_bytes
        self.wider = wider or {}
        self.wider_prefix = wider_prefix

    def _limit(self, path: str) -> int:
        if self.wider and path.startswith(self.wider_prefix):
            for suffix, limit in self.wider.items():
                if path.endswith(suffix):
                    return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(str(scope.get("path", "")))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return

        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(
            {
                "type": problem_type(TITLES[413]),
                "title": TITLES[413],
                "status": 413,
                "detail": f"the request body is over the limit of {limit} bytes",
                "errors": [{"field": "body", "reason": f"over {limit} bytes"}],
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
