"""How the adapter reaches the bus: address, identity, time limits and their windows.

A module of its own so that the channel base (``_channel``) and the channel clients
(``client``, ``async_channel``) all depend on it and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ShepSettings"]


@dataclass(frozen=True, slots=True)
class ShepSettings:
    """Where the bus is, who we are on it, and how long we wait for it.

    ``deadline`` bounds one logical call, retries and back-off included; each attempt
    is further bounded by the connect and read timeouts.

    ``timestamp_window`` is how far (seconds, either way) the signed ``wsu:Timestamp``
    of a reply may lie from our clock before the reply is refused as stale or
    replayed; it covers both systems' clock drift and the time in transit.
    ``timestamp_ttl`` is the lifetime we put on our own messages' timestamps.
    """

    address: str
    sender_id: str
    password: str
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    deadline: float = 20.0
    max_attempts: int = 4
    backoff_initial: float = 0.2
    backoff_max: float = 2.0
    breaker_failures: int = 5
    breaker_cool_down: float = 30.0
    timestamp_window: float = 300.0
    timestamp_ttl: float = 300.0
