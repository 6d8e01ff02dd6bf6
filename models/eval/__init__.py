"""Evaluation against baselines: harmonization, the other ops, and the rule harmonizer."""
