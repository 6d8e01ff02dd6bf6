"""Virtual MIDI ports: the live harmonizer, capture-and-answer, clock and MIDI byte streams."""
