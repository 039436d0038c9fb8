"""Durable storage: SQLite logs of live sessions (and, later, casualty events)."""
