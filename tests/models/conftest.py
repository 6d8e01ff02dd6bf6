"""Fixtures of the model tests: a tiny randomly initialised Transformer (the training module's
"tiny" preset, fixed seed) saved as a real checkpoint, and the composer loaded from it through
models.interface.load_composer. Torch runs on one thread: on the shared 2-core machine a tiny
model is many times faster that way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

TINY_SEED = 1234


@pytest.fixture(scope="package")
def one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_gpt(seed: int = TINY_SEED):
    """A fresh GPT of the "tiny" preset, randomly initialised from ``seed``, in eval mode."""
    import torch

    from models.net.transformer import GPT, GPTConfig
    from models.training import PRESETS

    torch.manual_seed(seed)
    return GPT(GPTConfig(**asdict(PRESETS["tiny"]))).eval()


@pytest.fixture(scope="package")
def tiny_weights(tmp_path_factory: pytest.TempPathFactory, one_thread: None) -> Path:
    """The path stem of a tiny checkpoint (``model.safetensors`` + ``model.json``)."""
    from models.net import checkpoint

    stem = tmp_path_factory.mktemp("tiny") / "model"
    checkpoint.save(tiny_gpt(), stem, {"name": "tiny-test"})
    return stem


@pytest.fixture(scope="package")
def composer(tiny_weights: Path):
    """The tiny model behind the engine's interface, on CPU."""
    from models.interface import load_composer

    return load_composer(tiny_weights, "cpu")
