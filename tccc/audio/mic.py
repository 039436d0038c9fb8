"""Microphone capture through PortAudio (the sounddevice package), and the list of input devices.

sounddevice is imported lazily so the rest of the product works where PortAudio is missing (a
server node); asking for a microphone there is a clear AudioError, not an import-time crash.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import logging
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.audio.convert import PcmConverter
from tccc.audio.sources import RingSource
from tccc.errors import AudioError
from tccc.events import AudioChunk

_LOGGER = logging.getLogger(__name__)

DEVICE_ERROR = "audio_device"
"""Error code of AudioErrors about capture devices (as opposed to undecodable audio)."""
_LIST_HINT = "run `tccc devices` to list them"
_NO_DEVICES = (
    "no audio input device was found at all: connect a microphone and check that this user "
    "may use it (e.g. is in the 'audio' group), then run `tccc devices`"
)
_OVERFLOW_LOG_INTERVAL_S = 10.0


@dataclass(frozen=True, slots=True)
class InputDevice:
    """One audio input device as PortAudio reports it."""

    index: int
    """PortAudio device index (stable until devices are plugged or unplugged)."""
    name: str
    channels: int
    """Most input channels the device offers."""
    default_sample_rate_hz: float
    host_api: str
    """ALSA, PulseAudio, JACK, Core Audio, WASAPI, ..."""
    is_default: bool
    """True for the device used when none is named."""


def _sounddevice() -> ModuleType:
    """Import sounddevice, turning a missing package or PortAudio library into an AudioError."""
    if importlib.util.find_spec("sounddevice") is None:
        raise AudioError(
            "microphone capture needs the sounddevice package: pip install sounddevice",
            code=DEVICE_ERROR,
        )
    try:
        return importlib.import_module("sounddevice")
    except OSError as exc:
        # sounddevice raises OSError("PortAudio library not found") at import on Linux, where
        # its wheel does not bundle the library.
        raise AudioError(
            "the PortAudio library is missing; install it (Debian/Ubuntu: "
            "apt-get install libportaudio2)",
            code=DEVICE_ERROR,
        ) from exc


def list_devices() -> list[InputDevice]:
    """Every device with at least one input channel; an empty list when there is none."""
    sd = _sounddevice()
    try:
        devices = list(sd.query_devices())
        host_apis = [str(api["name"]) for api in sd.query_hostapis()]
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot list audio devices: {exc}", code=DEVICE_ERROR) from exc
    try:
        default_index = int(sd.query_devices(kind="input")["index"])
    except sd.PortAudioError:
        # PortAudio reports "no default input device" as an error.
        default_index = -1
    return [
        InputDevice(
            index=int(dev["index"]),
            name=str(dev["name"]),
            channels=int(dev["max_input_channels"]),
            default_sample_rate_hz=float(dev["default_samplerate"]),
            host_api=host_apis[int(dev["hostapi"])],
            is_default=int(dev["index"]) == default_index,
        )
        for dev in devices
        if int(dev["max_input_channels"]) > 0
    ]


def find_device(device: int | str | None, devices: list[InputDevice]) -> InputDevice:
    """Pick the input device named by index, index string, name or name part (None: default)."""
    # Saying that there are no devices at all is the actionable part when the list is empty.
    hint = _NO_DEVICES if not devices else _LIST_HINT
    if device is None:
        for dev in devices:
            if dev.is_default:
                return dev
        raise AudioError(f"no default input device; {hint}", code=DEVICE_ERROR)
    if isinstance(device, int) or device.strip().isdigit():
        index = int(device)
        for dev in devices:
            if dev.index == index:
                return dev
        raise AudioError(f"no input device with index {index}; {hint}", code=DEVICE_ERROR)
    wanted = device.strip().lower()
    exact = [dev for dev in devices if dev.name.lower() == wanted]
    matches = exact or [dev for dev in devices if wanted in dev.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AudioError(f"no input device {device!r}; {hint}", code=DEVICE_ERROR)
    names = ", ".join(f"{dev.index}: {dev.name}" for dev in matches)
    raise AudioError(
        f"input device {device!r} is ambiguous ({names}); name it by index", code=DEVICE_ERROR
    )


class MicSource(RingSource):
    """Live microphone capture: PortAudio's callback thread writes into the ring buffer.

    Capture starts in `start()` (or `async with`, or the first `__anext__`); `aclose()` stops
    the device and the audio captured so far is still delivered.
    """

    def __init__(
        self, device: int | str | None = None, *, capacity_s: float, block_ms: int = 30
    ) -> None:
        super().__init__(capacity_s)
        if block_ms < 1:
            raise ValueError("block_ms must be at least 1")
        self._device_spec = device
        self._block_ms = block_ms
        self._device: InputDevice | None = None
        self._stream: Any = None
        self._converter: PcmConverter | None = None
        self._start_lock = asyncio.Lock()
        self._closed = False
        self._stopping = False
        self._error: BaseException | None = None
        # Written only by the PortAudio thread and read by the consumer: a plain int suffices.
        self._input_overflows = 0
        self._logged_overflows = 0
        self._logged_at = -_OVERFLOW_LOG_INTERVAL_S

    @property
    def name(self) -> str:
        """Short description for logs and status."""
        if self._device is not None:
            return f"mic:{self._device.name}"
        return f"mic:{'default' if self._device_spec is None else self._device_spec}"

    @property
    def device(self) -> InputDevice | None:
        """The device being captured, once started."""
        return self._device

    @property
    def input_overflows(self) -> int:
        """Times PortAudio reported input overflow: audio lost before it reached the buffer.

        Unlike `dropped_samples`, the amount is unknown, so session time may run behind.
        """
        return self._input_overflows

    async def start(self) -> None:
        """Open and start the input device in a worker thread; AudioError when it cannot."""
        async with self._start_lock:
            if self._stream is not None or self._closed:
                return
            self._stream = await asyncio.to_thread(self._open)

    async def __anext__(self) -> AudioChunk:
        """The next chunk of captured audio."""
        try:
            chunk = await super().__anext__()
        except StopAsyncIteration:
            if self._error is not None:
                raise AudioError(f"{self.name}: capture failed", code=DEVICE_ERROR) from self._error
            raise
        self._log_input_overflows()
        return chunk

    async def aclose(self) -> None:
        """Stop and close the device; the audio captured so far is still delivered."""
        async with self._start_lock:
            self._closed = True
            stream, self._stream = self._stream, None
            try:
                if stream is not None:
                    self._stopping = True
                    await asyncio.to_thread(_stop, stream)
                    tail = self._converter.flush() if self._converter is not None else None
                    if tail is not None and tail.size and not self._ring.closed:
                        self._ring.write(tail)
            finally:
                self._ring.close()

    def _open(self) -> Any:
        """Resolve the device, pick a format and start the stream (runs in a worker thread)."""
        sd = _sounddevice()
        dev = find_device(self._device_spec, list_devices())
        rate, channels = _pick_format(sd, dev)
        if (rate, channels) != (SAMPLE_RATE, 1):
            # The device cannot deliver 16 kHz mono itself; resample in the callback, keeping
            # the filter state across blocks.
            self._converter = PcmConverter(rate, 2, channels)
        try:
            stream = sd.InputStream(
                device=dev.index,
                samplerate=rate,
                channels=channels,
                dtype="int16",
                blocksize=max(1, rate * self._block_ms // 1000),
                callback=self._callback,
                finished_callback=self._finished,
            )
        except sd.PortAudioError as exc:
            raise AudioError(
                f"cannot open input device {dev.name!r}: {exc}", code=DEVICE_ERROR
            ) from exc
        try:
            stream.start()
        except sd.PortAudioError as exc:
            stream.close()
            raise AudioError(
                f"cannot start input device {dev.name!r}: {exc}", code=DEVICE_ERROR
            ) from exc
        self._device = dev
        _LOGGER.info(
            "capturing from input device %d (%s) at %d Hz, %d channel(s)",
            dev.index,
            dev.name,
            rate,
            channels,
        )
        return stream

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio thread: hand the block to the ring buffer; never block, never log per block."""
        if status.input_overflow:
            self._input_overflows += 1
        try:
            if self._converter is not None:
                samples = self._converter.convert(indata.tobytes())
            else:
                samples = indata.reshape(-1)
            self._ring.write(samples)
        except Exception as exc:
            # An exception escaping here would silently stop the stream and leave the consumer
            # waiting forever: record it, end the stream, and let the consumer raise it.
            _LOGGER.exception("%s: capture callback failed", self.name)
            self._error = exc
            self._ring.close()
            raise _sounddevice().CallbackAbort from exc

    def _finished(self) -> None:
        """PortAudio thread: the stream became inactive; if we did not stop it, end the stream."""
        if not self._stopping and not self._ring.closed:
            self._error = self._error or RuntimeError("the input stream stopped unexpectedly")
            _LOGGER.warning("%s: the input device stopped delivering audio", self.name)
            self._ring.close()

    def _log_input_overflows(self) -> None:
        """Warn about device-level overflows, at most once per interval, from the consumer side."""
        count = self._input_overflows
        now = time.monotonic()
        if count > self._logged_overflows and now - self._logged_at >= _OVERFLOW_LOG_INTERVAL_S:
            _LOGGER.warning(
                "%s: the input device overflowed (%d time(s) so far); audio was lost before "
                "capture, the machine may be overloaded",
                self.name,
                count,
            )
            self._logged_overflows, self._logged_at = count, now


def _pick_format(sd: ModuleType, dev: InputDevice) -> tuple[int, int]:
    """(rate, channels) the device accepts: 16 kHz mono if it can, else its default rate."""
    rates = [SAMPLE_RATE, round(dev.default_sample_rate_hz)]
    for channels in sorted({1, min(dev.channels, 2)}):
        for rate in rates:
            try:
                sd.check_input_settings(
                    device=dev.index, channels=channels, dtype="int16", samplerate=rate
                )
            except (sd.PortAudioError, ValueError):
                continue
            return rate, channels
    raise AudioError(
        f"input device {dev.name!r} accepts neither 16 kHz nor its default rate "
        f"({dev.default_sample_rate_hz:g} Hz) as 16-bit PCM",
        code=DEVICE_ERROR,
    )


def _stop(stream: Any) -> None:
    """Stop and close a stream (blocks until the last callback has returned)."""
    sd = _sounddevice()
    try:
        try:
            stream.stop()
        finally:
            stream.close()
    except sd.PortAudioError as exc:
        raise AudioError(f"cannot stop the input device: {exc}", code=DEVICE_ERROR) from exc
