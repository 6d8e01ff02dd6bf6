"""Constrained decoding and the voice-leading rules it applies."""
