"""The musical ops: harmonize, drums, fill, vary, continue, restyle and the live harmonizer."""
