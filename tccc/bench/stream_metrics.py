"""Pure metrics of `tccc bench stream`: latency stats, speech end, term-and-number recall."""

from __future__ import annotations

import functools
import importlib
import logging
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tccc.audio import SAMPLE_RATE

_LOGGER = logging.getLogger(__name__)

SPEECH_FRAME_MS = 20
"""Frame length of the speech-end detector."""

SPEECH_THRESHOLD_DB = -45.0
"""A frame is speech when its RMS is at most this far below the clip's peak sample."""


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks, like numpy's default."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} is outside 0-100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    """p50, p95 and mean of one latency over the items that have it."""

    p50: float
    p95: float
    mean: float
    n: int


def summarise(values: Iterable[float | None]) -> Stats | None:
    """Stats of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return Stats(
        p50=round(percentile(present, 50), 4),
        p95=round(percentile(present, 95), 4),
        mean=round(sum(present) / len(present), 4),
        n=len(present),
    )


def frame_levels_db(
    samples: np.ndarray, *, rate: int = SAMPLE_RATE, frame_ms: int = SPEECH_FRAME_MS
) -> np.ndarray:
    """RMS of each frame in dB relative to the peak sample (-inf for silent frames)."""
    x = samples.astype(np.float64).reshape(-1)
    size = max(1, rate * frame_ms // 1000)
    if x.size == 0:
        return np.zeros(0)
    peak = float(np.max(np.abs(x)))
    frames = math.ceil(x.size / size)
    padded = np.zeros(frames * size)
    padded[: x.size] = x
    rms = np.sqrt(np.mean(padded.reshape(frames, size) ** 2, axis=1))
    if peak == 0.0:
        return np.full(frames, -np.inf)
    with np.errstate(divide="ignore"):
        levels: np.ndarray = 20.0 * np.log10(rms / peak)
    return levels


def speech_end_sample(
    samples: np.ndarray,
    *,
    rate: int = SAMPLE_RATE,
    frame_ms: int = SPEECH_FRAME_MS,
    threshold_db: float = SPEECH_THRESHOLD_DB,
) -> int | None:
    """Index just past the last speech frame; None for silence or empty audio."""
    levels = frame_levels_db(samples, rate=rate, frame_ms=frame_ms)
    loud = np.nonzero(levels >= threshold_db)[0]
    if loud.size == 0:
        return None
    size = max(1, rate * frame_ms // 1000)
    return int(min(samples.size, (int(loud[-1]) + 1) * size))


def speech_end_s(
    samples: np.ndarray,
    *,
    rate: int = SAMPLE_RATE,
    frame_ms: int = SPEECH_FRAME_MS,
    threshold_db: float = SPEECH_THRESHOLD_DB,
) -> float | None:
    """Seconds from the start to the end of the last speech frame; None for silence."""
    end = speech_end_sample(samples, rate=rate, frame_ms=frame_ms, threshold_db=threshold_db)
    return None if end is None else end / rate


def chunk_bounds(n_samples: int, chunk_samples: int) -> list[tuple[int, int]]:
    """(start, end) sample ranges of consecutive chunks covering n_samples."""
    if chunk_samples <= 0:
        raise ValueError("chunk_samples must be positive")
    return [(i, min(i + chunk_samples, n_samples)) for i in range(0, n_samples, chunk_samples)]


NUMBER_RE = re.compile(
    r"(?<![\w.])[A-Za-z]*\d+(?:[./:]\d+)*[A-Za-z]*(?:\s?(?:mcg|mg|g|ml|kg|cc|%)(?!\w))?"
)
"""Numeric values: 110, 97%, 90/60, 14:32, 1432Z, RM4417, 3.25, "2 g" (number and unit)."""


def numeric_values(text: str) -> set[str]:
    """Numeric values in `text`, lower-cased with inner spaces removed ("2 g" == "2g")."""
    return {re.sub(r"\s+", "", m.group(0)).lower() for m in NUMBER_RE.finditer(text)}


@functools.lru_cache(maxsize=4096)
def _term_pattern(term: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in term.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


def find_terms(text: str, terms: Iterable[str]) -> set[str]:
    """The terms that occur in `text` as whole words, case-insensitively."""
    return {term for term in terms if term.strip() and _term_pattern(term).search(text)}


@dataclass(frozen=True)
class Recall:
    """How many of a reference's key items (terms and numbers) a hypothesis got right."""

    found: int
    total: int
    missed: tuple[str, ...] = ()

    @property
    def share(self) -> float | None:
        """found / total; None when the reference has no key items."""
        return self.found / self.total if self.total else None


def key_items(text: str, terms: Iterable[str]) -> tuple[set[str], set[str]]:
    """(terms, numeric values) that `text` contains."""
    return find_terms(text, terms), numeric_values(text)


def term_number_recall(reference: str, hypothesis: str, terms: Iterable[str]) -> Recall:
    """Share of the reference's terms and numeric values that also occur in the hypothesis."""
    terms = tuple(terms)
    ref_terms, ref_numbers = key_items(reference, terms)
    hyp_terms = find_terms(hypothesis, ref_terms)
    hyp_numbers = numeric_values(hypothesis)
    missed = sorted(ref_terms - hyp_terms) + sorted(ref_numbers - hyp_numbers)
    total = len(ref_terms) + len(ref_numbers)
    return Recall(found=total - len(missed), total=total, missed=tuple(missed))


@dataclass(frozen=True)
class RecallScorer:
    """Scores term-and-number recall with one normaliser and one term list."""

    normalise: Callable[[str], str]
    terms: tuple[str, ...]

    def score(self, reference: str, hypothesis: str) -> tuple[Recall, Recall]:
        """(recall with the hypothesis normalised, recall of the raw hypothesis).

        The reference is normalised in both, so both count the same key items.
        """
        ref = self.normalise(reference)
        return (
            term_number_recall(ref, self.normalise(hypothesis), self.terms),
            term_number_recall(ref, hypothesis, self.terms),
        )


def project_recall_scorer() -> RecallScorer | None:
    """Recall scorer on the project's normaliser and vocabulary; None if they are not there."""
    # Imported by name: the normaliser module is optional for this benchmark, and recall is
    # reported as unavailable (not faked) without it.
    try:
        normaliser_mod: Any = importlib.import_module("tccc.stt.normaliser")
        vocabulary_mod: Any = importlib.import_module("tccc.stt.vocabulary")
    except ImportError as exc:
        _LOGGER.warning("term recall unavailable: %s", exc)
        return None
    vocabulary = vocabulary_mod.load_vocabulary()
    normaliser = normaliser_mod.Normaliser(vocabulary)

    def normalise(text: str) -> str:
        return str(normaliser.normalise(text).text)

    return RecallScorer(normalise, tuple(str(term.canonical) for term in vocabulary.terms))
