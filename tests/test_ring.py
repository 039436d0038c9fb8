"""RingBuffer: order, no lost tail, drop-oldest overflow with exact counts, cross-thread wake-up."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import numpy as np
import pytest

from tccc.audio.ring import RingBuffer
from tccc.events import AudioChunk

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine with a timeout so a missed wake-up fails instead of hanging."""

    async def limited() -> T:
        return await asyncio.wait_for(coro, timeout=20)

    return asyncio.run(limited())


def ramp(start: int, n: int) -> np.ndarray:
    """Samples whose values are their session indices (mod 2**15), so order is checkable."""
    return (np.arange(start, start + n) % 32768).astype(np.int16)


async def drain(ring: RingBuffer, max_samples: int | None = None) -> list[AudioChunk]:
    """Read until the ring is closed and empty."""
    chunks: list[AudioChunk] = []
    while (chunk := await ring.read(max_samples)) is not None:
        chunks.append(chunk)
    return chunks


def assert_contiguous(chunks: list[AudioChunk], first: int = 0) -> None:
    """Each chunk starts where the previous one ended."""
    expected = first
    for chunk in chunks:
        assert chunk.start == expected
        expected = chunk.end


def test_keeps_order_and_delivers_tail_after_close() -> None:
    ring = RingBuffer(1000)
    sizes = [1, 7, 160, 480, 3, 349]
    pos = 0
    for n in sizes:
        ring.write(ramp(pos, n))
        pos += n
    ring.close()
    chunks = run(drain(ring, max_samples=100))
    assert all(0 < c.samples.size <= 100 for c in chunks)
    assert_contiguous(chunks)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), ramp(0, pos))
    assert ring.dropped_samples == 0 and ring.overflows == 0
    # The end of the stream stays the end.
    assert run(ring.read()) is None


def test_wraps_around_many_times_without_corruption() -> None:
    ring = RingBuffer(37)
    rng = random.Random(7)
    written = read = 0
    out: list[np.ndarray] = []

    async def go() -> None:
        nonlocal written, read
        for _ in range(500):
            # Never write more than the free space, so nothing may be dropped.
            n = rng.randint(1, 37 - (written - read))
            ring.write(ramp(written, n))
            written += n
            chunk = await ring.read(rng.randint(1, 40))
            assert chunk is not None
            assert chunk.start == read
            read = chunk.end
            out.append(chunk.samples)
        ring.close()
        out.extend(c.samples for c in await drain(ring))

    run(go())
    np.testing.assert_array_equal(np.concatenate(out), ramp(0, written))
    assert ring.dropped_samples == 0


def test_overflow_drops_oldest_counts_exactly_and_jumps_start() -> None:
    ring = RingBuffer(100)
    ring.write(ramp(0, 60))
    ring.write(ramp(60, 60))  # 20 over capacity: samples 0-19 go
    assert ring.dropped_samples == 20
    assert ring.overflows == 1
    assert ring.buffered == 100
    chunk = run(ring.read())
    assert chunk is not None
    assert chunk.start == 20
    np.testing.assert_array_equal(chunk.samples, ramp(20, 100))
    assert ring.written == 120


def test_chunk_after_gap_starts_where_session_time_is() -> None:
    ring = RingBuffer(50)

    async def go() -> list[AudioChunk]:
        ring.write(ramp(0, 30))
        first = await ring.read()
        for i in range(4):  # the reader stalls while 120 samples arrive
            ring.write(ramp(30 + 30 * i, 30))
        ring.close()
        assert first is not None
        return [first, *await drain(ring)]

    chunks = run(go())
    assert chunks[0].start == 0 and chunks[0].end == 30
    assert chunks[1].start == 100  # 150 written, only the newest 50 kept
    assert ring.dropped_samples == 70
    assert chunks[1].start - chunks[0].end == ring.dropped_samples
    assert_contiguous(chunks[1:], first=100)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks[1:]]), ramp(100, 50))


def test_write_larger_than_capacity_keeps_the_newest() -> None:
    ring = RingBuffer(10)
    ring.write(ramp(0, 4))
    ring.write(ramp(4, 25))
    assert ring.dropped_samples == 19
    ring.close()
    chunks = run(drain(ring))
    assert chunks[0].start == 19
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), ramp(19, 10))


def test_matches_a_reference_model_under_random_overflow() -> None:
    capacity = 64
    ring = RingBuffer(capacity)
    rng = random.Random(11)
    model: list[int] = []  # session indices still buffered
    written = dropped = 0

    async def go() -> None:
        nonlocal written, dropped
        for _ in range(2000):
            if rng.random() < 0.6:
                n = rng.randint(1, 90)
                ring.write(ramp(written, n))
                model.extend(range(written, written + n))
                written += n
                excess = max(0, len(model) - capacity)
                del model[:excess]
                dropped += excess
            elif model:
                k = rng.randint(1, 70)
                chunk = await ring.read(k)
                assert chunk is not None
                expected = model[: min(k, len(model))]
                del model[: len(expected)]
                assert chunk.start == expected[0]
                np.testing.assert_array_equal(
                    chunk.samples, (np.array(expected) % 32768).astype(np.int16)
                )
            assert ring.dropped_samples == dropped
            assert ring.buffered == len(model)

    run(go())
    assert dropped > 0


def test_overflow_episodes_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    ring = RingBuffer(100)
    with caplog.at_level(logging.WARNING, logger="tccc.audio.ring"):
        for i in range(10):  # one long stall: one episode, however many writes overflow
            ring.write(ramp(i * 40, 40))
        assert ring.overflows == 1
        assert ring.dropped_samples == 300
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "dropping the oldest audio" in warnings[0].getMessage()

        # Reading until the reader has caught up ends the episode; the next overflow is new.
        run(ring.read(60))
        ring.write(ramp(400, 80))
        assert ring.overflows == 2
        assert ring.dropped_samples == 320
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2


def test_reading_a_little_while_still_behind_does_not_end_the_episode() -> None:
    ring = RingBuffer(100)
    ring.write(ramp(0, 150))
    run(ring.read(10))  # still 90 buffered: more than half full, so still behind
    ring.write(ramp(150, 30))
    assert ring.overflows == 1
    assert ring.dropped_samples == 70


def test_another_thread_wakes_an_awaiting_reader() -> None:
    ring = RingBuffer(1000)

    async def go() -> tuple[AudioChunk | None, float]:
        writer = threading.Timer(0.2, lambda: ring.write(ramp(0, 160)))
        t0 = time.monotonic()
        writer.start()
        try:
            chunk = await ring.read()
        finally:
            writer.join()
        return chunk, time.monotonic() - t0

    chunk, waited = run(go())
    assert chunk is not None
    assert chunk.start == 0 and chunk.samples.size == 160
    assert waited >= 0.15


def test_close_from_another_thread_ends_the_reader() -> None:
    ring = RingBuffer(10)

    async def go() -> AudioChunk | None:
        closer = threading.Timer(0.1, ring.close)
        closer.start()
        try:
            return await ring.read()
        finally:
            closer.join()

    assert run(go()) is None


def test_concurrent_producer_thread_loses_nothing_when_capacity_suffices() -> None:
    total_blocks, block = 400, 160
    ring = RingBuffer(total_blocks * block)

    def produce() -> None:
        for i in range(total_blocks):
            ring.write(ramp(i * block, block))
            if i % 50 == 0:
                time.sleep(0.002)
        ring.close()

    async def go() -> list[AudioChunk]:
        producer = threading.Thread(target=produce)
        producer.start()
        try:
            return await drain(ring, max_samples=500)
        finally:
            producer.join()

    chunks = run(go())
    assert_contiguous(chunks)
    np.testing.assert_array_equal(
        np.concatenate([c.samples for c in chunks]), ramp(0, total_blocks * block)
    )
    assert ring.dropped_samples == 0


def test_chunk_carries_capture_time_of_its_newest_sample() -> None:
    ring = RingBuffer(100)
    ring.write(ramp(0, 10), captured_at=1.0)
    ring.write(ramp(10, 10), captured_at=2.0)
    ring.write(ramp(20, 10), captured_at=3.0)
    first = run(ring.read(15))
    rest = run(ring.read())
    assert first is not None and rest is not None
    assert first.captured_at == 2.0
    assert rest.captured_at == 3.0


def test_cancelled_read_leaves_the_ring_usable() -> None:
    ring = RingBuffer(100)

    async def go() -> AudioChunk | None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ring.read(), timeout=0.05)
        ring.write(ramp(0, 5))
        return await ring.read()

    chunk = run(go())
    assert chunk is not None and chunk.samples.size == 5


def test_one_reader_at_a_time() -> None:
    ring = RingBuffer(10)

    async def go() -> None:
        first = asyncio.create_task(ring.read())
        await asyncio.sleep(0.01)
        with pytest.raises(RuntimeError, match="one reader"):
            await ring.read()
        ring.close()
        assert await first is None

    run(go())


def test_misuse_is_loud() -> None:
    with pytest.raises(ValueError):
        RingBuffer(0)
    ring = RingBuffer(10)
    with pytest.raises(TypeError, match="int16"):
        ring.write(np.zeros(4, dtype=np.float32))
    ring.write(np.zeros(0, dtype=np.int16))  # empty writes are no-ops
    assert ring.written == 0
    ring.close()
    ring.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        ring.write(ramp(0, 4))
