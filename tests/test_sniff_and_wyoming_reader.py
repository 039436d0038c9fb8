"""Protocol sniffing and bounded Wyoming event reading (no server)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tccc.errors import AudioTooLargeError, ProtocolError
from tccc.server.sniff import classify
from tccc.server.wyoming_handler import MAX_HEADER_BYTES, read_event


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b'{"type": "describe"}\n', "wyoming"),
        (b"  \n{", "wyoming"),
        (b"GET /healthz HTTP/1.1\r\n", "http"),
        (b"POST /api/asr HTTP/1.1\r\n", "http"),
        (b"P", "http"),
        (b"", None),
        (b"   ", None),
        (b"\x16\x03\x01", "http"),  # TLS is not Wyoming: HTTP layer rejects it
    ],
)
def test_classify(data: bytes, kind: str | None) -> None:
    assert classify(data) == kind


def feed(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=MAX_HEADER_BYTES)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


def run(data: bytes, max_bytes: int = 1024) -> object:
    async def go() -> object:
        return await read_event(feed(data), max_bytes=max_bytes)

    return asyncio.run(go())


def test_reads_event_with_data_and_payload() -> None:
    extra = json.dumps({"rate": 16000}).encode()
    header = {
        "type": "audio-chunk",
        "data": {"width": 2},
        "data_length": len(extra),
        "payload_length": 4,
    }
    event = run(json.dumps(header).encode() + b"\n" + extra + b"\x01\x02\x03\x04")
    assert event is not None
    assert event.type == "audio-chunk"  # type: ignore[attr-defined]
    assert event.data == {"width": 2, "rate": 16000}  # type: ignore[attr-defined]
    assert event.payload == b"\x01\x02\x03\x04"  # type: ignore[attr-defined]


def test_eof_and_truncation_are_disconnects() -> None:
    assert run(b"") is None
    assert run(b'{"type": "desc') is None
    assert run(b'{"type": "x", "payload_length": 10}\n\x00\x00') is None


@pytest.mark.parametrize(
    "line",
    [
        b"{not json\n",
        b"[1, 2]\n",
        b'{"data": {}}\n',
        b'{"type": 5}\n',
        b'{"type": "x", "data": [1]}\n',
        b'{"type": "x", "payload_length": -1}\n',
        b'{"type": "x", "payload_length": "10"}\n',
        b"\xff\xfe\n",
    ],
)
def test_malformed_headers(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        run(line)


def test_oversized_payload_is_refused_before_reading() -> None:
    with pytest.raises(AudioTooLargeError):
        run(b'{"type": "audio-chunk", "payload_length": 1000000000}\n')


def test_overlong_header_line() -> None:
    with pytest.raises(ProtocolError, match="too long"):
        run(b'{"type": "' + b"a" * (MAX_HEADER_BYTES + 10) + b'"}\n')
