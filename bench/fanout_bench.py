"""Fan-out benchmark: one post matching 1,000 chats, through the real notifier and Bot.

The local Bot API server enforces Telegram's limits (30 messages/s overall, 1/s per private
chat) and answers 429 to any excess, which it counts. Prints delivered messages/s, the 429s
received, the latency from a post reaching the ingest path to its first sendMessage with one
subscriber (p50, p99), and as its last line `fanout_ratio_to_limit: R` (rate / 30 per s).

    .venv/bin/python bench/fanout_bench.py [--chats 1000] [--trials 50]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.alerts import AlertEngine
from bot.app import build_ingestor
from bot.delivery.notifier import Notifier
from bot.models import ChannelRef, Post, PostOrigin, to_epoch, utc_now
from storage import chats as chat_repo
from storage import subscriptions as sub_repo
from storage.db import Database
from tests.harness.bot_api import BotApiServer

CHANNEL = ChannelRef(1001, "official_news", "Official News")
LIMIT = 30.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=50)
    args = parser.parse_args()

    server = await BotApiServer(
        enforce_private_interval=1.0, enforce_global_per_second=int(LIMIT)
    ).start()
    bot = Bot(
        "123456:bench-token",
        session=AiohttpSession(api=TelegramAPIServer.from_base(server.base_url)),
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "fanout.db")
        await db.open()
        ingestor = build_ingestor(db)
        engine = AlertEngine()
        ingestor.add_listener(engine)
        notifier = Notifier(db, bot)
        engine.set_on_enqueued(notifier.notify_new)
        now = to_epoch(utc_now())
        async with db.write() as conn:
            for chat in range(1, args.chats + 1):
                await chat_repo.ensure_chat(conn, chat, chat_type="private", now=now)
                await sub_repo.add(conn, chat, "санкції", created_by=None, now=now)
        await engine.load(db)

        # Fan-out: one post, every chat.
        post = Post(CHANNEL, 1, utc_now() - timedelta(seconds=5), "Нові санкції проти Росії.")
        await ingestor.ingest(post, origin=PostOrigin.LIVE)
        started = time.perf_counter()
        delivered = await notifier.drain_once()
        elapsed = time.perf_counter() - started
        rate = delivered / elapsed
        print(f"fanout_chats: {args.chats}")
        print(f"fanout_delivered: {delivered} in {elapsed:.1f} s")
        print(f"fanout_messages_per_s: {rate:.1f}")
        print(f"fanout_429_received: {server.rejected_429}")

        # Latency with one subscriber: post handed to ingest -> first sendMessage received.
        async with db.write() as conn:
            await conn.execute("UPDATE subscriptions SET active = 0")
            await chat_repo.ensure_chat(conn, 10**6, chat_type="private", now=now)
            await sub_repo.add(conn, 10**6, "шахед", created_by=None, now=now)
        await engine.load(db)
        # As `chanwatch run` does after start-up: freeze the long-lived objects, so the
        # cyclic garbage collector does not rescan them in the middle of a send.
        gc.collect()
        gc.freeze()
        stop = asyncio.Event()
        runner = asyncio.create_task(notifier.run(stop))
        latencies: list[float] = []
        for trial in range(args.trials):
            before = len(server.calls_of("sendMessage"))
            # Respect the 1 message/s limit of the chat between trials (not part of latency).
            await asyncio.sleep(1.05)
            t0 = time.perf_counter()
            await ingestor.ingest(
                Post(CHANNEL, 100 + trial, utc_now(), f"Атака шахедів номер {trial}."),
                origin=PostOrigin.LIVE,
            )
            await server.wait_for_call("sendMessage", before + 1, within_seconds=30)
            latencies.append((time.perf_counter() - t0) * 1000)
        stop.set()
        await runner
        ordered = sorted(latencies)
        print(f"latency_trials: {len(latencies)}")
        print(f"latency_p50_ms: {statistics.median(ordered):.1f}")
        print(f"latency_p99_ms: {ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]:.1f}")
        await db.close()
    await bot.session.close()
    await server.stop()
    print(f"fanout_ratio_to_limit: {rate / LIMIT:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
