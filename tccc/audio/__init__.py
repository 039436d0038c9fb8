"""Audio decoding and conversion to the pipeline's format: 16 kHz mono int16."""

SAMPLE_RATE = 16000
"""Sample rate of every array inside the pipeline."""
