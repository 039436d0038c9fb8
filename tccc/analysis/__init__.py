"""TCCC analysis: facts from normalised transcripts, casualty records, MARCH status, prompts."""
