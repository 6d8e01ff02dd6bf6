"""Model files: weights as safetensors plus a JSON side file holding the config, the token
vocabulary and what training recorded. Loading never unpickles anything.

    <stem>.safetensors   tensors only (fp16 on disk, loaded as fp32 or bf16)
    <stem>.json          {"format": "dawbridge-model", "version": 1, "config": {...},
                          "tokens": [...], "meta": {...}}

docs/checkpoint.md records this format; change both together.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from models.net.transformer import GPT, GPTConfig
from models.net.vocab import FORMAT_VERSION, VOCAB

CHECKPOINT_FORMAT = "dawbridge-model"
CHECKPOINT_VERSION = 1


class CheckpointError(ValueError):
    """The files are missing, corrupt, or from an incompatible format."""


def stem_of(path: Path) -> Path:
    if path.is_dir():
        found = sorted(path.glob("*.safetensors"))
        if not found:
            raise CheckpointError(f"no .safetensors file in {path}")
        return found[0].with_suffix("")
    return path.with_suffix("") if path.suffix in (".json", ".safetensors") else path


def save(model: GPT, stem: Path, meta: dict[str, Any], half: bool = True) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu") for k, v in model.state_dict().items() if k != "head.weight"}
    if half:
        state = {k: v.to(torch.float16) for k, v in state.items()}
    tmp = stem.with_suffix(".safetensors.tmp")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp))
    tmp.replace(stem.with_suffix(".safetensors"))
    side = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "token_format": FORMAT_VERSION,
        "config": asdict(model.config),
        "tokens": list(VOCAB.tokens),
        "meta": meta,
    }
    stem.with_suffix(".json").write_text(json.dumps(side, indent=1))


def read_side(stem: Path, grow: bool = False) -> dict[str, Any]:
    path = stem.with_suffix(".json")
    try:
        side = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise CheckpointError(f"missing {path}") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"unreadable {path}: {exc}") from exc
    if side.get("format") != CHECKPOINT_FORMAT or side.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} is not a {CHECKPOINT_FORMAT} v{CHECKPOINT_VERSION} file")
    tokens = side.get("tokens")
    older = grow and isinstance(tokens, list) and 0 < len(tokens) < len(VOCAB) and tokens == list(VOCAB.tokens[:len(tokens)])
    if tokens != list(VOCAB.tokens) and not older:
        raise CheckpointError(f"{path} was trained with another token vocabulary (format {side.get('token_format')})")
    return side


def load(stem: Path, device: str = "cpu", dtype: torch.dtype = torch.float32,
         grow: bool = False) -> tuple[GPT, dict[str, Any]]:
    """The model at ``stem``. With ``grow`` (to train on from older weights), weights of an
    earlier token format whose vocabulary this one extends load too: the new tokens' embeddings
    start as small random vectors, every other weight as trained."""
    side = read_side(stem, grow)
    known = len(side["tokens"])
    try:
        config = GPTConfig(**{**side["config"], "vocab_size": len(VOCAB)} if grow else side["config"])
        model = GPT(config)
    except (TypeError, ValueError, AssertionError) as exc:  # GPT asserts n_embd % n_head == 0
        raise CheckpointError(f"bad config in {stem}.json: {str(exc) or 'n_embd must be a multiple of n_head'}") from exc
    try:
        state = load_file(str(stem.with_suffix(".safetensors")))
    except FileNotFoundError as exc:
        raise CheckpointError(f"missing {stem}.safetensors") from exc
    except Exception as exc:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"corrupt {stem}.safetensors: {exc}") from exc
    if "wte.weight" not in state:
        raise CheckpointError(f"{stem}.safetensors does not match its config: it has no wte.weight tensor")
    if grow and known < len(VOCAB):
        old = state["wte.weight"].float()
        fresh = torch.randn(len(VOCAB) - known, old.shape[1], generator=torch.Generator().manual_seed(0)) * old.std() * 0.5
        state["wte.weight"] = torch.cat([old, fresh])
    state["head.weight"] = state["wte.weight"]
    try:
        model.load_state_dict({k: v.float() for k, v in state.items()})
    except RuntimeError as exc:
        raise CheckpointError(f"{stem}.safetensors does not match its config: {exc}") from exc
    model.to(device=device, dtype=dtype).eval()
    return model, side.get("meta", {})
