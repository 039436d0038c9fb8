"""Admission of live streams: a fixed number of slots, shared fairly between protocols.

First come, first served starves a protocol whose clients back off: a Home Assistant-like
Wyoming client reconnects the instant its stream ends, so it takes every slot that frees, and a
WebSocket client that waits for Retry-After never gets one. Here a refused protocol leaves a
claim: the next slot that frees is held for the oldest claim of another protocol (for
`claim_s` seconds, long enough for a client that obeys Retry-After to come back), so under
overload the protocols that keep asking take turns, and a protocol alone loses nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

CLAIM_S = 6.0
"""How long a refused protocol's claim on the next free slot lasts (3x Retry-After)."""


class StreamAdmission:
    """Live-stream slots; `acquire` refuses beyond capacity and keeps the refused protocol's
    turn. Used from the event loop only."""

    def __init__(
        self,
        capacity: int,
        *,
        claim_s: float = CLAIM_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.claim_s = claim_s
        self._clock = clock
        self.held: Counter[str] = Counter()
        """Slots held now, by protocol."""
        self._claims: dict[str, tuple[float, float]] = {}
        """Protocol -> (when it was first refused, when its claim lapses)."""

    @property
    def in_use(self) -> int:
        """Slots held now."""
        return sum(self.held.values())

    def acquire(self, protocol: str) -> bool:
        """Take a slot for a stream of `protocol`; False (and a claim on the next one) if the
        free slots are all held back for protocols refused before it."""
        now = self._clock()
        self._claims = {p: c for p, c in self._claims.items() if c[1] > now}
        mine = self._claims.get(protocol)
        ahead = sum(
            1
            for p, (since, _) in self._claims.items()
            if p != protocol and (mine is None or since < mine[0])
        )
        if self.capacity - self.in_use > ahead:
            self.held[protocol] += 1
            self._claims.pop(protocol, None)
            return True
        since = mine[0] if mine is not None else now
        self._claims[protocol] = (since, now + self.claim_s)
        return False

    def release(self, protocol: str) -> None:
        """Give back a slot taken by `acquire`."""
        if self.held[protocol] > 0:
            self.held[protocol] -= 1
