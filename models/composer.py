"""Loads the shipped (or a user's) weights and runs tasks: the implementation behind
:mod:`models.interface`."""

from __future__ import annotations

from pathlib import Path

from models.interface import Composer, ModelUnavailable


def load(weights: Path, device: str) -> Composer:
    stem = weights.with_suffix("") if weights.suffix in (".json", ".safetensors") else weights
    if not stem.with_suffix(".safetensors").exists():
        raise ModelUnavailable(
            f"no model weights at {stem}.safetensors; train them with `dawbridge train` "
            "or pass --weights PATH to a trained model"
        )
    raise ModelUnavailable("model loading is not built yet")
