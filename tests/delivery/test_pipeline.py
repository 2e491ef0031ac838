"""From a stored post to the chat: one alert per chat, edits, deletions, dedup, limits."""

from __future__ import annotations

import contextlib
import json
from datetime import timedelta

from bot.models import ChannelRef, ForwardOrigin, Post, PostOrigin
from tests.harness.bot_api import Failure
from tests.harness.delivery_rig import Delivery

NEWS = ChannelRef(1001, "official_news", "Official News")
MIRROR = ChannelRef(2002, "mirror_chan", "Mirror")
TEXT = "Зустріч у Парижі: обговорили гарантії безпеки для України та санкції проти Росії."


def post(
    d: Delivery, message_id: int, text: str = TEXT, channel: ChannelRef = NEWS, **kw: object
) -> Post:
    return Post(channel, message_id, d.clock() - timedelta(minutes=1), text, **kw)  # type: ignore[arg-type]


async def test_one_alert_per_chat_however_many_subscriptions_match(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    await delivery.subscribe(10, "гарантії безпеки")
    await delivery.subscribe(20, "Париж")
    await delivery.subscribe(30, "шахед")
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 2
    ten, twenty = delivery.texts(10), delivery.texts(20)
    assert len(ten) == 1 and len(twenty) == 1 and delivery.texts(30) == []
    assert "<b>санкції</b>" in ten[0] and "<b>гарантії</b>" in ten[0]
    assert "https://t.me/official_news/1" in ten[0]
    assert "Matched: санкції; гарантії безпеки" in ten[0]
    # Sent once: draining again sends nothing, also after a repeat of the post.
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.CATCHUP, late=True)
    assert await delivery.notifier.drain_once() == 0
    assert len(delivery.server.calls_of("sendMessage")) == 2


async def test_silent_origins_and_old_posts_do_not_alert(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    for origin in (PostOrigin.FIRST_SIGHT, PostOrigin.BACKFILL, PostOrigin.IMPORT):
        await delivery.ingestor.ingest(post(delivery, hash(origin) % 1000), origin=origin)
    old = Post(NEWS, 999, delivery.clock() - timedelta(hours=25), TEXT)
    await delivery.ingestor.ingest(old, origin=PostOrigin.CATCHUP, late=True)
    assert await delivery.outbox() == []


async def test_late_post_says_so(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    await delivery.ingestor.ingest(post(delivery, 5), origin=PostOrigin.CATCHUP, late=True)
    await delivery.notifier.drain_once()
    assert "Arrived late" in delivery.texts(10)[0]


async def test_edit_is_announced_as_a_diff_once_per_minute(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    await delivery.notifier.drain_once()
    await delivery.ingestor.ingest(
        post(delivery, 1, TEXT.replace("Парижі", "Лондоні")), origin=PostOrigin.LIVE
    )
    delivery.clock.advance(20)
    await delivery.ingestor.ingest(
        post(delivery, 1, "Пост більше не про це."), origin=PostOrigin.LIVE
    )
    assert await delivery.notifier.drain_once() == 0  # held for a minute
    delivery.clock.advance(61)
    assert await delivery.notifier.drain_once() == 1
    edit = delivery.texts(10)[-1]
    assert edit.startswith("<b>Edited: Official News</b>") or "Edited: " in edit
    assert "<s>Зустріч</s>" in edit and "<u>більше</u>" in edit
    assert [r[1:] for r in await delivery.outbox()] == [("new", 0, "sent"), ("edit", 2, "sent")]


async def test_edits_off_and_first_match_by_edit(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції", edits=False)
    await delivery.subscribe(20, "Лондон")
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    await delivery.ingestor.ingest(
        post(delivery, 1, TEXT.replace("Парижі", "Лондоні")), origin=PostOrigin.LIVE
    )
    rows = await delivery.outbox()
    assert rows == [(10, "new", 0, "pending"), (20, "new", 0, "pending")]


async def test_deletion_sends_the_preserved_text(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    long_text = TEXT + "\n" + ("Дуже довгий абзац про санкції. " * 300)
    await delivery.ingestor.ingest(post(delivery, 1, long_text), origin=PostOrigin.LIVE)
    await delivery.notifier.drain_once()
    await delivery.ingestor.ingest_deletions(NEWS, [1], detected_by="live")
    await delivery.notifier.drain_once()
    deletion = [t for t in delivery.texts(10) if "Deleted:" in t or "Дуже довгий" in t][1:]
    assert len(deletion) >= 2  # split into several messages, all of it there
    joined = "".join(deletion)
    assert joined.count("Дуже довгий абзац") == 300


async def test_same_statement_in_two_channels_is_one_alert(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    await delivery.notifier.drain_once()
    forward = post(delivery, 7, TEXT, MIRROR, forward=ForwardOrigin(channel_id=1001, message_id=1))
    await delivery.ingestor.ingest(forward, origin=PostOrigin.LIVE)
    copy = post(delivery, 8, TEXT + " Підписуйтесь!", ChannelRef(3003, "third_chan"))
    await delivery.ingestor.ingest(copy, origin=PostOrigin.LIVE)
    await delivery.notifier.drain_once()
    assert len(delivery.server.calls_of("sendMessage")) == 1
    edits = delivery.server.calls_of("editMessageText")
    assert len(edits) == 2
    last = edits[-1].params["text"]
    assert "Also in: https://t.me/mirror_chan/7" in last and "https://t.me/third_chan/8" in last


async def test_forwards_off(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції", forwards=False)
    forward = post(delivery, 7, TEXT, MIRROR, forward=ForwardOrigin(channel_id=555, message_id=1))
    await delivery.ingestor.ingest(forward, origin=PostOrigin.LIVE)
    assert await delivery.outbox() == []


async def test_html_in_posts_is_escaped(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    nasty = 'санкції <b>fake</b> & <a href="http://evil">link</a>'
    await delivery.ingestor.ingest(post(delivery, 1, nasty), origin=PostOrigin.LIVE)
    await delivery.notifier.drain_once()
    text = delivery.texts(10)[0]
    assert '&lt;b&gt;fake&lt;/b&gt; &amp; &lt;a href="http://evil"&gt;' in text


async def test_429_storm_delivers_everything_once(delivery: Delivery) -> None:
    for chat in range(1, 6):
        await delivery.subscribe(chat, "санкції")
    delivery.server.fail_next(
        "sendMessage", Failure(429, "Too Many Requests", retry_after=3), times=4
    )
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 5
    chats = sorted(int(c.params["chat_id"]) for c in delivery.server.calls_of("sendMessage"))
    assert chats[-5:] == [1, 2, 3, 4, 5] or sorted(set(chats)) == [1, 2, 3, 4, 5]
    assert all(r[3] == "sent" for r in await delivery.outbox())
    assert delivery.monotonic.slept.count(3) == 4


async def test_server_error_retries_with_backoff(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    delivery.server.fail_next("sendMessage", Failure(500, "Internal Server Error"))
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 0
    assert (await delivery.outbox())[0][3] == "pending"
    delivery.clock.advance(3)
    assert await delivery.notifier.drain_once() == 1


async def test_a_retry_sends_only_the_parts_not_yet_delivered(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    long_text = TEXT + "\n" + ("Дуже довгий абзац про санкції. " * 300)
    await delivery.ingestor.ingest(post(delivery, 1, long_text), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 1
    sent_before = len(delivery.texts(10))
    # The deletion alert carries the whole preserved text in several messages: the first
    # goes through, the second meets a server error.
    delivery.server.fail_next("sendMessage", Failure(500, "Internal Server Error"), after=1)
    await delivery.ingestor.ingest_deletions(NEWS, [1], detected_by="live")
    assert await delivery.notifier.drain_once() == 0
    first_try = delivery.texts(10)[sent_before:]
    assert len(first_try) == 2  # part 1 delivered, part 2 refused
    delivery.clock.advance(3)
    assert await delivery.notifier.drain_once() == 1
    texts = delivery.texts(10)[sent_before:]
    assert texts[2] == first_try[1]  # the retry starts at the part that failed
    parts = [first_try[0], *texts[2:]]
    assert len(parts) >= 3
    assert "".join(parts).count("Дуже довгий абзац") == 300  # every word once
    assert sum(t == first_try[0] for t in texts) == 1  # part 1 was not sent again
    rows = await delivery.db.fetch_all(
        "SELECT status, sent_message_ids FROM outbox WHERE kind = 'deletion'"
    )
    assert rows[0]["status"] == "sent"
    assert len(json.loads(rows[0]["sent_message_ids"])) == len(parts)


async def test_a_chat_s_alerts_keep_their_order_across_retries(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    await delivery.subscribe(20, "санкції")
    delivery.server.fail_next("sendMessage", Failure(500, "Internal Server Error"))
    # Two posts claimed in one batch: chat 10's first alert fails, so its second waits.
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    await delivery.ingestor.ingest(post(delivery, 2, "Нові санкції."), origin=PostOrigin.LIVE)
    sent = await delivery.notifier.drain_once()
    failed_chat = int(delivery.server.calls_of("sendMessage")[0].params["chat_id"])
    other = 20 if failed_chat == 10 else 10
    assert sent == 2 and len(delivery.texts(other)) == 2  # the other chat is not held up
    assert len(delivery.texts(failed_chat)) == 1  # the refused attempt only
    # A third post while the first waits for its retry: still nothing overtakes it.
    await delivery.ingestor.ingest(post(delivery, 3, "Ще санкції."), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 1  # only the other chat's
    assert len(delivery.texts(failed_chat)) == 1
    delivery.clock.advance(3)
    assert await delivery.notifier.drain_once() == 3
    texts = delivery.texts(failed_chat)[1:]  # after the refused attempt
    assert len(texts) == 3
    assert "Парижі" in texts[0] and "Нові" in texts[1] and "Ще" in texts[2]


async def test_an_edit_held_for_coalescing_does_not_hold_up_new_alerts(
    delivery: Delivery,
) -> None:
    await delivery.subscribe(10, "санкції")
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 1
    edited = post(delivery, 1, TEXT.replace("Парижі", "Лондоні"))
    await delivery.ingestor.ingest(edited, origin=PostOrigin.LIVE)  # held for a minute
    await delivery.ingestor.ingest(post(delivery, 2, "Нові санкції."), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 1
    assert "Нові" in delivery.texts(10)[-1]


async def test_an_unexpected_answer_is_retried_and_stops_nothing(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    await delivery.subscribe(20, "санкції")
    delivery.server.fail_next("sendMessage", Failure(404, "Not Found"))
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 1  # the other chat's alert went out
    statuses = sorted(r[3] for r in await delivery.outbox())
    assert statuses == ["pending", "sent"]  # the refused one waits for a retry
    delivery.clock.advance(3)
    assert await delivery.notifier.drain_once() == 1
    assert [r[3] for r in await delivery.outbox()] == ["sent", "sent"]


async def test_one_slow_chat_never_holds_up_the_others(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    delivery.server.fail_next("sendMessage", Failure(0, "", hang=True))
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.dispatch() == 1
    await delivery.server.wait_for_call("sendMessage")  # chat 10's request hangs
    await delivery.subscribe(20, "Лондон")
    await delivery.ingestor.ingest(post(delivery, 2, "Зустріч у Лондоні."), origin=PostOrigin.LIVE)
    assert await delivery.notifier.dispatch() == 1
    calls = await delivery.server.wait_for_call("sendMessage", 2)
    assert int(calls[1].params["chat_id"]) == 20  # sent while chat 10 still hangs
    delivery.server.release_hung()
    await delivery.notifier.drain_once()  # waits for both chats' workers
    assert [r[3] for r in await delivery.outbox()] == ["sent", "sent"]


async def test_a_long_send_in_progress_is_never_taken_for_a_stale_claim(
    delivery: Delivery,
) -> None:
    await delivery.subscribe(10, "санкції")
    delivery.server.fail_next("sendMessage", Failure(0, "", hang=True))
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.dispatch() == 1
    await delivery.server.wait_for_call("sendMessage")
    delivery.clock.advance(600)  # far beyond stale_claim_seconds, still being sent
    assert await delivery.notifier.dispatch() == 0
    delivery.server.release_hung()
    await delivery.notifier.drain_once()
    assert len(delivery.server.calls_of("sendMessage")) == 1  # sent once, not twice
    assert [r[3] for r in await delivery.outbox()] == ["sent"]


async def test_blocked_chat_is_deactivated(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    delivery.server.fail_next("sendMessage", Failure(403, "Forbidden: bot was blocked by the user"))
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    await delivery.notifier.drain_once()
    assert (await delivery.outbox())[0][3] == "failed"
    active = await delivery.db.fetch_one("SELECT active FROM subscriptions")
    assert active[0] == 0
    await delivery.ingestor.ingest(post(delivery, 2), origin=PostOrigin.LIVE)
    assert len(await delivery.outbox()) == 1


async def test_migrated_group_moves_and_receives(delivery: Delivery) -> None:
    await delivery.subscribe(-10, "санкції")
    delivery.server.fail_next(
        "sendMessage",
        Failure(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-10099),
    )
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 1
    assert int(delivery.server.calls_of("sendMessage")[-1].params["chat_id"]) == -10099
    row = await delivery.db.fetch_one("SELECT chat_id FROM subscriptions")
    assert row[0] == -10099


async def test_migration_never_repeats_an_alert_queued_for_both_ids(delivery: Delivery) -> None:
    from storage import chats as chat_repo

    await delivery.subscribe(-10, "санкції")
    await delivery.subscribe(-10099, "санкції")  # the supergroup was subscribed already
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    async with delivery.db.write() as conn:
        await chat_repo.migrate(conn, -10, -10099)
    rows = await delivery.db.fetch_all("SELECT chat_id, status FROM outbox ORDER BY id")
    assert [tuple(r) for r in rows] == [(-10, "failed"), (-10099, "pending")]
    assert await delivery.notifier.drain_once() == 1
    assert [int(c.params["chat_id"]) for c in delivery.server.calls_of("sendMessage")] == [-10099]


async def test_formatting_rejected_falls_back_to_plain_text(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    delivery.server.fail_next("sendMessage", Failure(400, "Bad Request: can't parse entities"))
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    assert await delivery.notifier.drain_once() == 1
    last = delivery.server.calls_of("sendMessage")[-1].params
    assert "<b>" not in last["text"] and "parse_mode" not in last


async def test_crash_between_claim_and_send_resends_once(delivery: Delivery) -> None:
    import asyncio

    await delivery.subscribe(10, "санкції")
    await delivery.ingestor.ingest(post(delivery, 1), origin=PostOrigin.LIVE)
    delivery.server.fail_next("sendMessage", Failure(0, "", hang=True))
    task = asyncio.create_task(delivery.notifier.drain_once())
    await delivery.server.wait_for_call("sendMessage")
    task.cancel()  # the notifier dies between claim and confirmed send
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert (await delivery.outbox())[0][3] == "claimed"
    assert await delivery.notifier.drain_once() == 0  # the claim is fresh: not yet stale
    delivery.clock.advance(120)
    assert await delivery.notifier.drain_once() == 1
    assert await delivery.notifier.drain_once() == 0
    assert len(delivery.server.calls_of("sendMessage")) == 2  # the lost attempt and one resend
    assert (await delivery.outbox())[0][3] == "sent"


async def test_rate_limit_spaces_messages_to_one_chat(delivery: Delivery) -> None:
    await delivery.subscribe(10, "санкції")
    await delivery.subscribe(-20, "санкції")
    for i in range(1, 4):
        await delivery.ingestor.ingest(post(delivery, i, TEXT + f" {i}"), origin=PostOrigin.LIVE)
    await delivery.notifier.drain_once()
    # Three to the private chat (1 s apart) and three to the group (3 s apart), interleaved.
    assert sum(delivery.monotonic.slept) >= 6 - 0.01
