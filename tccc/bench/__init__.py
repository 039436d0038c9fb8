"""Benchmarks: speed, accuracy and memory, measured rather than asserted in tests."""
