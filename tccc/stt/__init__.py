"""Speech-to-text: the Transcriber interface, the faster-whisper backend, VAD and model loading."""
