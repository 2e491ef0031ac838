"""A small Bot API server on 127.0.0.1 for tests: aiogram's real HTTP session talks to it.

It records every method call, serves `getUpdates` from a queue (long polling, woken by
events, never by sleeps), answers `getMe` and message methods with well-formed results, and
can be told to fail the next calls of a method with 429 (`retry_after`), 500, 403, 400, or
to hang until released.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 5550001
BOT_USERNAME = "chanwatch_test_bot"


@dataclass
class Call:
    """One recorded Bot API call."""

    method: str
    params: dict[str, Any]
    token: str


@dataclass
class Failure:
    """An injected answer for the next call of a method."""

    status: int
    description: str
    retry_after: int | None = None
    migrate_to_chat_id: int | None = None
    hang: bool = False


@dataclass
class BotApiServer:
    """Start with `await server.start()`; `server.base_url` goes into `TelegramAPIServer.from_base`."""

    host: str = "127.0.0.1"
    calls: list[Call] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    # Scripted answers per method, in call order; None answers normally.
    _failures: dict[str, list[Failure | None]] = field(default_factory=lambda: defaultdict(list))
    _called: asyncio.Condition | None = None
    _new_update: asyncio.Event | None = None
    _release: asyncio.Event | None = None
    _runner: web.AppRunner | None = None
    port: int = 0
    # Optional enforcement of Telegram's limits (for benchmarks): seconds between messages
    # to one private chat, and messages per second overall; excess gets 429 + retry_after.
    enforce_private_interval: float | None = None
    enforce_global_per_second: int | None = None
    rejected_429: int = 0
    # (chat id, user id) pairs that getChatMember reports as the chat's owner (an admin).
    chat_admins: set[tuple[int, int]] = field(default_factory=set)
    _last_send: dict[str, float] = field(default_factory=dict)
    _recent_sends: list[float] = field(default_factory=list)

    async def start(self) -> BotApiServer:
        """Listen on a free port of 127.0.0.1."""
        self._called = asyncio.Condition()
        self._new_update = asyncio.Event()
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets
        self.port = server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Release hung calls and stop listening."""
        if self._release is not None:
            self._release.set()
        if self._new_update is not None:
            self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """The server's base URL for `TelegramAPIServer.from_base`."""
        return f"http://{self.host}:{self.port}"

    # -- controlling it --
    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for `getUpdates`; returns its update_id."""
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        assert self._new_update is not None
        self._new_update.set()
        return update_id

    def fail_next(self, method: str, failure: Failure, times: int = 1, *, after: int = 0) -> None:
        """The next `times` calls of `method` get this answer, once `after` more calls have
        been answered normally."""
        self._failures[method].extend([None] * after + [failure] * times)

    def release_hung(self) -> None:
        """Let hung calls finish."""
        assert self._release is not None
        self._release.set()

    def calls_of(self, method: str) -> list[Call]:
        """Recorded calls of one method."""
        return [c for c in self.calls if c.method == method]

    async def wait_for_call(
        self, method: str, count: int = 1, within_seconds: float = 10
    ) -> list[Call]:
        """Wait until `method` has been called `count` times (woken by each call)."""
        assert self._called is not None
        async with self._called:
            await asyncio.wait_for(
                self._called.wait_for(lambda: len(self.calls_of(method)) >= count), within_seconds
            )
        return self.calls_of(method)

    # -- serving --
    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                form = await request.post()
                for key, value in form.items():
                    params[key] = value if isinstance(value, str) else str(value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.match_info["token"]
        params = await self._params(request)
        self.calls.append(Call(method, params, token))
        assert self._called is not None
        async with self._called:
            self._called.notify_all()
        if method == "sendMessage" and self._over_limit(str(params.get("chat_id"))):
            self.rejected_429 += 1
            return self._error(Failure(429, "Too Many Requests: retry after 1", retry_after=1))
        failures = self._failures.get(method)
        failure = failures.pop(0) if failures else None
        if failure is not None:
            if failure.hang:
                assert self._release is not None
                await self._release.wait()
            else:
                return self._error(failure)
        result = await self._result(method, params)
        return web.json_response({"ok": True, "result": result})

    def _over_limit(self, chat: str) -> bool:
        now = asyncio.get_running_loop().time()
        if self.enforce_global_per_second is not None:
            self._recent_sends = [t for t in self._recent_sends if now - t < 1.0]
            if len(self._recent_sends) >= self.enforce_global_per_second:
                return True
        if self.enforce_private_interval is not None and not chat.startswith("-"):
            last = self._last_send.get(chat)
            if last is not None and now - last < self.enforce_private_interval:
                return True
        self._recent_sends.append(now)
        self._last_send[chat] = now
        return False

    def _error(self, failure: Failure) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": failure.status,
            "description": failure.description,
        }
        parameters: dict[str, Any] = {}
        if failure.retry_after is not None:
            parameters["retry_after"] = failure.retry_after
        if failure.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = failure.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=failure.status)

    async def _result(self, method: str, params: dict[str, Any]) -> Any:
        lowered = method.lower()
        if lowered == "getme":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "chanwatch",
                "username": BOT_USERNAME,
            }
        if lowered == "getchatmember":
            chat_id, user_id = _int(params.get("chat_id")), _int(params.get("user_id"))
            # Administrators are reported as the chat's owner (the smallest valid object).
            status = "creator" if (chat_id, user_id) in self.chat_admins else "member"
            member: dict[str, Any] = {
                "status": status,
                "user": {"id": user_id, "is_bot": False, "first_name": "User"},
            }
            if status == "creator":
                member["is_anonymous"] = False
            return member
        if lowered == "getupdates":
            return await self._get_updates(params)
        if lowered in {"sendmessage", "editmessagetext", "sendphoto", "senddocument"}:
            chat_id = _int(params.get("chat_id"))
            return {
                "message_id": _int(params.get("message_id")) or next(self._message_ids),
                "date": 1767225600,
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "text": params.get("text", ""),
            }
        return True

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params.get("offset"))
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = float(params.get("timeout") or 0)
        assert self._new_update is not None
        if not self._updates and timeout > 0:
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), timeout)
            except TimeoutError:
                return []
        return list(self._updates)


def _int(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        return value
    return int(json.loads(value)) if isinstance(value, str) else int(value)
