"""The whisper service: Wyoming and HTTP on one port."""
