"""The language-model stage: grounded gap-filling and hand-off prose, off the critical path."""
