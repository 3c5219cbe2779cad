"""The Redis channel layer must outwait its own blocking reads, or an idle socket's consumer
dies with a Redis read timeout after a few seconds."""

from __future__ import annotations

import asyncio

from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.utils import create_pool


def test_socket_timeout_is_longer_than_the_blocking_pop() -> None:
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    for host in layer.hosts:
        pool = create_pool(host)
        timeout = pool.connection_kwargs.get("socket_timeout")
        assert timeout is None or timeout > layer.brpop_timeout + 5, timeout


def test_a_message_crosses_the_layer() -> None:
    async def round_trip() -> dict[str, object]:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "probe", "n": 1})
        return dict(await layer.receive(channel))

    assert asyncio.run(round_trip()) == {"type": "probe", "n": 1}
