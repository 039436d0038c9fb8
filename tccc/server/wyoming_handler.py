"""Wyoming protocol: bounded event reading and the speech-to-text connection handler.

Every read is bounded: an event header line (MAX_HEADER_BYTES), its data and payload
(`server.max_event_kb`), and the time a whole event may take to arrive (`server.idle_timeout_s`).
A live stream is bounded by its duration (`server.max_audio_s`), whatever its sample format, and
its memory by the session's ring buffer.

Authentication: the protocol has no field for it, so a server with an API token expects the
token in the data of a `describe`, `transcribe` or `audio-start` event (`{"token": "..."}`); the
first one that carries it authenticates the connection. Without it a client may `describe` and
`ping` (what /readyz tells anyone) but not transcribe, unless `server.insecure_wyoming`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart
from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import AsrModel, AsrProgram, Attribution, Info
from wyoming.ping import Pong

from tccc import __version__
from tccc.audio import SAMPLE_RATE
from tccc.audio.convert import PcmConverter, check_pcm_format
from tccc.config import Settings
from tccc.errors import AudioTooLargeError, NotReadyError, ProtocolError, ServerBusyError, TcccError
from tccc.events import LiveTranscript
from tccc.server.languages import normalise_language
from tccc.server.live_session import LiveSession
from tccc.server.service import TranscriptionService
from tccc.server.tasks import TaskOwner
from tccc.store.transcripts import TranscriptLog

_LOGGER = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
"""Longest JSON header line accepted (also the StreamReader's buffer limit)."""
RETRY_AFTER_S = 2
"""Seconds a refused client (busy, still loading) is told to wait, in the error's data."""
_AUTH_EVENTS = ("describe", "transcribe", "audio-start")
"""Events whose data may carry the token."""
_OPEN_EVENTS = ("describe", "ping", "pong")
"""Events answered without the token."""


def _json(data: bytes | str) -> Any:
    """Parse JSON; nesting too deep for the parser is malformed input, not a crash."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise ProtocolError("event JSON is nested too deeply") from exc


async def read_event(reader: asyncio.StreamReader, *, max_bytes: int) -> Event | None:
    """Read one Wyoming event; None at end of stream. Raises ProtocolError on malformed input."""
    try:
        line = await reader.readline()
    except ValueError as exc:  # asyncio turns a line over the buffer limit into ValueError
        raise ProtocolError("event header is too long") from exc
    if not line or not line.endswith(b"\n"):
        return None  # disconnected, possibly mid-header
    try:
        header = _json(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError("event header is not valid JSON") from exc
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("event header has no type")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("event data must be a JSON object")
    lengths = []
    for key in ("data_length", "payload_length"):
        value = header.get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ProtocolError(f"{key} must be a non-negative integer")
        if value > max_bytes:
            raise AudioTooLargeError(f"{key} {value} exceeds the {max_bytes}-byte limit")
        lengths.append(value)
    data_length, payload_length = lengths
    try:
        if data_length:
            extra = _json(await reader.readexactly(data_length))
            if not isinstance(extra, dict):
                raise ProtocolError("event data must be a JSON object")
            data.update(extra)
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError("event data is not valid JSON") from exc
    return Event(type=header["type"], data=data, payload=payload)


@dataclass
class WyomingContext:
    """What Wyoming connections share: the service, settings and their owned tasks."""

    service: TranscriptionService
    settings: Settings
    log: TranscriptLog = field(default_factory=TranscriptLog)
    """Where final transcripts of streamed audio are kept."""
    tasks: TaskOwner = field(default_factory=lambda: TaskOwner("wyoming"))

    @property
    def token(self) -> str | None:
        """The token a client must send before it may transcribe (None: none needed)."""
        server = self.settings.server
        return None if server.insecure_wyoming else server.api_token

    def info(self) -> Info:
        """The `info` answer to `describe`."""
        transcriber = self.service.transcriber
        model = AsrModel(
            name=transcriber.model_name,
            description=f"Whisper {transcriber.model_name} (CTranslate2)",
            attribution=Attribution(name="OpenAI", url="https://github.com/openai/whisper"),
            installed=True,
            version=None,
            languages=transcriber.languages,
        )
        program = AsrProgram(
            name="tccc",
            description="tccc speech-to-text (faster-whisper, Silero VAD)",
            attribution=Attribution(name="tccc", url="https://github.com/tccc"),
            installed=True,
            version=__version__,
            models=[model],
            supports_transcript_streaming=True,
        )
        return Info(asr=[program])

    def accept(self, transport: asyncio.Transport, first_bytes: bytes) -> None:
        """Take over a sniffed connection and serve it as Wyoming (leading whitespace dropped)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_HEADER_BYTES, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        reader.feed_data(first_bytes)
        writer = asyncio.StreamWriter(transport, protocol, reader, loop)
        handler = WyomingHandler(reader, writer, self)
        self.tasks.create(handler.run(), name="connection")


class WyomingHandler:
    """One Wyoming connection: describe, transcribe, audio-start/chunk/stop -> transcript."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ctx: WyomingContext
    ) -> None:
        self.reader, self.writer, self.ctx = reader, writer, ctx
        self.language: str | None = None
        self._converter: PcmConverter | None = None
        self._session: LiveSession | None = None
        self._started = time.perf_counter()
        server = ctx.settings.server
        self._max_event = server.max_event_kb * 1024
        self._idle_s = server.idle_timeout_s
        # A stream is bounded by its duration once converted (8-bit audio at 1 kHz is 32x
        # smaller than the 16 kHz int16 it becomes), not by its size in bytes: an hour of
        # 48 kHz stereo is over a gigabyte and still an hour. Memory is the ring buffer's.
        self._max_samples = int(server.max_audio_s * SAMPLE_RATE)
        self._samples = 0
        self._authorised = ctx.token is None

    async def run(self) -> None:
        """Serve events until the client disconnects or a protocol error ends the connection."""
        metrics = self.ctx.service.metrics
        metrics.wyoming_connections.inc()
        try:
            while True:
                try:
                    async with asyncio.timeout(self._idle_s):
                        event = await read_event(self.reader, max_bytes=self._max_event)
                except TimeoutError:
                    metrics.timed_out.labels("wyoming").inc()
                    raise ProtocolError(
                        f"no complete event for {self._idle_s:g} s; closing", code="idle_timeout"
                    ) from None
                if event is None:
                    if self._session is not None:
                        _LOGGER.debug("client disconnected mid-stream")
                    break
                await self.handle(event)
        except TcccError as exc:
            metrics.errors.labels(exc.code).inc()
            metrics.requests.labels("wyoming", "transcribe", exc.code).inc()
            _LOGGER.info("wyoming error sent to client: %s", exc.code)
            data: dict[str, Any] = {"text": exc.message, "code": exc.code}
            if isinstance(exc, ServerBusyError | NotReadyError):
                data["retry_after"] = RETRY_AFTER_S
            await self._send_quietly(Event(type="error", data=data))
        except (ConnectionError, asyncio.IncompleteReadError):
            _LOGGER.debug("wyoming client connection lost")
        except Exception:
            # A bug, not the client's fault: logged with its traceback (no audio or text in
            # it), and the client is told instead of seeing the connection drop.
            _LOGGER.exception("wyoming connection failed")
            metrics.errors.labels("internal_error").inc()
            await self._send_quietly(Error(text="internal error", code="internal_error").event())
        finally:
            if self._session is not None:
                # The client left mid-stream (or broke the protocol): what it said is still
                # finalised and kept in the transcript log (a session that never started is
                # released).
                self._session.abandon()
            metrics.wyoming_connections.dec()
            self.writer.close()

    async def handle(self, event: Event) -> None:
        """Handle one event (raises TcccError for what ends the connection)."""
        self._authenticate(event)
        try:
            if event.type == "describe":
                await self.write(self.ctx.info().event())
            elif event.type == "ping":
                await self.write(Pong(text=event.data.get("text")).event())
            elif Transcribe.is_type(event.type):
                self.language = normalise_language(event.data.get("language"))
            elif AudioStart.is_type(event.type):
                start = AudioStart.from_event(event)
                await self._start(start.rate, start.width, start.channels)
            elif AudioChunk.is_type(event.type):
                await self._chunk(AudioChunk.from_event(event))
            elif event.type == "audio-stop":
                await self._stop()
            else:
                _LOGGER.debug("ignoring wyoming event %s", event.type)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProtocolError(f"malformed {event.type} event") from exc

    def _authenticate(self, event: Event) -> None:
        """Check a token in the event's data; refuse work until the connection has one."""
        expected = self.ctx.token
        given = event.data.pop("token", None) if event.type in _AUTH_EVENTS else None
        if expected is not None and given is not None:
            if not isinstance(given, str) or not hmac.compare_digest(
                given.encode(), expected.encode()
            ):
                raise TcccError("the token is not valid", code="unauthorized")
            self._authorised = True
        if not self._authorised and event.type not in _OPEN_EVENTS:
            raise TcccError(
                'this server needs its API token: send {"token": ...} in the data of the '
                "first describe, transcribe or audio-start event",
                code="unauthorized",
            )

    async def _start(self, rate: int, width: int, channels: int) -> None:
        check_pcm_format(rate, width, channels)
        if self._session is not None:
            # A new audio-start without audio-stop: the old stream ends here, nothing dropped.
            await self._stop()
        self._converter = PcmConverter(rate, width, channels)
        self._samples = 0
        self._started = time.perf_counter()
        self._session = LiveSession(
            self.ctx.service,
            self.ctx.settings,
            self.ctx.log,
            source_name="wyoming",
            language=self.language,
        )
        self._sent = ""
        self._rewritten = False
        await self.write(TranscriptStart(language=self.language).event())
        self._session.start(self._send_live, self.ctx.tasks)

    async def _send_live(self, event: LiveTranscript) -> None:
        """Stream newly committed text as transcript-chunk events (append-only deltas).

        The end punctuation of the text so far is held back until the next final (or the end)
        says whether the sentence goes on, so the chunks add up to the `transcript` text.
        """
        assert self._session is not None
        await self._send_delta(self._session.settled_with(event))

    async def _send_delta(self, committed: str) -> None:
        if not committed.startswith(self._sent):
            # Never expected (settled text only grows); the transcript event still has it all.
            if not self._rewritten:
                self._rewritten = True
                _LOGGER.warning("streamed text was rewritten; chunks stop short of the transcript")
            return
        if len(committed) > len(self._sent):
            delta = committed[len(self._sent) :]
            self._sent = committed
            await self.write(TranscriptChunk(text=delta).event())

    async def _chunk(self, chunk: AudioChunk) -> None:
        if self._converter is None or self._session is None:
            raise ProtocolError("audio-chunk before audio-start")
        conv = self._converter
        if (chunk.rate, chunk.width, chunk.channels) != (conv.rate, conv.width, conv.channels):
            # A client may change format mid-stream; finish the old converter's tail first.
            check_pcm_format(chunk.rate, chunk.width, chunk.channels)
            await self._session.push(conv.flush())
            self._converter = conv = PcmConverter(chunk.rate, chunk.width, chunk.channels)
        converted = conv.convert(chunk.audio or b"")
        self._samples += converted.size
        if self._samples > self._max_samples:
            raise AudioTooLargeError("the audio stream is longer than the configured limit")
        await self._session.push(converted)

    async def _stop(self) -> None:
        if self._converter is None or self._session is None:
            raise ProtocolError("audio-stop before audio-start")
        session = self._session
        await session.push(self._converter.flush())
        self._converter = None
        await session.finish()
        self._session = None
        text = session.text
        await self._send_delta(text)
        language = self.language or self.ctx.settings.stt.language or "en"
        await self.write(Transcript(text=text, language=language).event())
        await self.write(TranscriptStop().event())
        service = self.ctx.service
        service.metrics.requests.labels("wyoming", "transcribe", "ok").inc()
        service.metrics.request_latency.labels("wyoming", "transcribe").observe(
            time.perf_counter() - self._started
        )

    async def write(self, event: Event) -> None:
        """Send one event."""
        await async_write_event(event, self.writer)

    async def _send_quietly(self, event: Event) -> None:
        try:
            await self.write(event)
        except (ConnectionError, RuntimeError):
            _LOGGER.debug("could not send error event: client gone")
