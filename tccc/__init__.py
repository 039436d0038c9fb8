"""tccc: offline voice assistant for Tactical Combat Casualty Care."""

__version__ = "0.1.0"
