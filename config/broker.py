"""kombu's Redis transport, with one repair: a worker survives its broker's restart while it
holds a late-acknowledged task.

When the connection drops, Celery's consumer first collects the connection (which detaches
the transport: `transport.client = None`) and then closes it. Closing the channel tries to
hand its unacknowledged messages back to Redis, which needs a new Redis client, whose
parameters are read from `transport.client`: AttributeError("'NoneType' object has no
attribute 'hostname'"). That is not a connection error, so it escaped Celery's guard and the
worker exited ("Unrecoverable error"), and with no restart policy stayed down.

Handing messages back to a broker that is gone cannot work anyway: here the attempt is given up
and the messages stay in Redis's unacknowledged set, from which the transport restores them
once their visibility timeout passes (the rebuild they stand for is re-sent by the sweep long
before that).

The same holds for a task that finishes after the worker reconnected: its acknowledgement goes
to the old, detached channel and failed the same way ("'NoneType' object has no attribute
'client'"), killing the worker. It is dropped too: the message comes back after its visibility
timeout and runs again (the tasks are idempotent).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis
from redis import exceptions as redis_exceptions

logger = logging.getLogger(__name__)

_GONE = (AttributeError, redis_exceptions.ConnectionError, redis_exceptions.TimeoutError)


class QoS(kombu_redis.QoS):
    def restore_unacked(self, client: Any = None) -> Any:
        try:
            return super().restore_unacked(client)
        except _GONE as exc:
            delivered = self._delivered
            logger.warning(
                "broker gone: %d unacknowledged message(s) left for the visibility timeout (%s)",
                len(delivered or ()),
                exc,
            )
            if delivered is not None:
                delivered.clear()
            return None

    def ack(self, delivery_tag: Any) -> None:
        try:
            super().ack(delivery_tag)
        except _GONE as exc:
            self._forget(delivery_tag, exc)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except _GONE as exc:
            self._forget(delivery_tag, exc)

    def _forget(self, delivery_tag: Any, exc: BaseException) -> None:
        logger.warning(
            "broker gone: a finished task's acknowledgement is dropped; its message comes back"
            " after the visibility timeout (%s)",
            exc,
        )
        self._quick_ack(delivery_tag)  # type: ignore[attr-defined]


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
