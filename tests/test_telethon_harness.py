"""Pins the private Telethon attributes the harness relies on: an upgrade that drops them fails here."""

from __future__ import annotations

import inspect

from telethon import TelegramClient

from tests.harness import telethon_kit as kit


def test_private_attributes_exist() -> None:
    client = kit.make_client()
    assert hasattr(client, "_mb_entity_cache")
    assert hasattr(client._mb_entity_cache, "set_self_user")
    assert client._mb_entity_cache.self_id == kit.SELF_USER_ID
    assert inspect.iscoroutinefunction(TelegramClient._dispatch_update)
    assert hasattr(client, "_sender")
    assert hasattr(client, "_flood_waited_requests")
    assert client.flood_sleep_threshold == 0


async def test_dispatch_reaches_a_registered_handler() -> None:
    from telethon import events

    client = kit.make_client()
    seen: list[int] = []

    async def handler(event: events.NewMessage.Event) -> None:
        seen.append(event.message.id)

    client.add_event_handler(handler, events.NewMessage())
    await kit.dispatch(client, kit.new_post(kit.message(123, 7, "hello")))
    assert seen == [7]


async def test_fake_sender_answers_history_through_iter_messages() -> None:
    from telethon import types

    client = kit.make_client()
    fake = kit.FakeTelegram().install(client)
    for i in range(1, 251):
        fake.post(kit.message(5, i, f"post {i}"))
    peer = types.InputPeerChannel(5, 1)
    got = [m.id async for m in client.iter_messages(peer, min_id=120, reverse=True, limit=100)]
    assert got == list(range(121, 221))
    newest = await client.get_messages(peer, limit=1)
    assert [m.id for m in newest] == [250]
    fake.delete(5, 3)
    by_id = await client.get_messages(peer, ids=[2, 3, 4])
    assert [m.id if m else None for m in by_id] == [2, None, 4]
