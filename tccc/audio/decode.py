"""Decode any container PyAV understands (wav, flac, mp3, ogg/opus, m4a...) to 16 kHz mono."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import av
import numpy as np

from tccc.audio import SAMPLE_RATE
from tccc.errors import AudioError, AudioTooLargeError

_LOGGER = logging.getLogger(__name__)


def decode_audio(source: bytes | str | Path, *, max_seconds: float | None = None) -> np.ndarray:
    """Decode audio bytes or a file to 16 kHz mono int16 samples.

    Raises AudioError for data that is not decodable audio and AudioTooLargeError when the
    decoded audio is longer than `max_seconds`. A valid file with no samples gives an empty array.
    """
    if isinstance(source, bytes):
        if not source:
            raise AudioError("the upload is empty (0 bytes)")
        file: io.BytesIO | str = io.BytesIO(source)
    else:
        file = str(source)
    max_samples = None if max_seconds is None else int(max_seconds * SAMPLE_RATE)
    parts: list[np.ndarray] = []
    total = 0
    try:
        with av.open(file, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("the file has no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        chunk = out.to_ndarray().reshape(-1)
                        parts.append(chunk)
                        total += chunk.size
                        if max_samples is not None and total > max_samples:
                            raise AudioTooLargeError(
                                f"audio is longer than the {max_seconds:g} s limit"
                            )
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except FileNotFoundError as exc:
        raise AudioError(f"no such file: {source!s}") from exc
    except (av.error.FFmpegError, ValueError, IndexError, OSError) as exc:
        # Decoder messages can be long and technical; the client gets a plain reason and the
        # details go to the debug log.
        _LOGGER.debug("decode failed: %s", exc)
        raise AudioError("the data is not a decodable audio file") from exc
    if not parts:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate(parts).astype(np.int16, copy=False)


def to_float32(samples: np.ndarray) -> np.ndarray:
    """Scale int16 samples to float32 in [-1, 1), the model's input format."""
    return samples.astype(np.float32) / 32768.0
