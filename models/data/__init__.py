"""Training data: corpus readers, the cache, the token dataset, augmentation, MIDI folders."""
