"""The studio server: broker and workers, relay, CURVE keys, metrics and logs."""
