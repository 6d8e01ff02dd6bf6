"""The harmonic layer: chord symbols, reading chords from notes, and the phrase-level chord plan
that harmonize realizes."""
