"""`dawbridge train`: train the model on the corpus (or fine-tune it on a folder of MIDI files),
with a progress bar, periodic validation loss, checkpoints every few hundred steps, resume
after an interruption, and fixed seeds. CUDA with bf16 when present, else CPU in fp32.

    dawbridge train --preset small --steps 20000            # from the corpus cache
    dawbridge train --data ~/my-midi --steps 2000           # fine-tune the shipped model

The best weights by validation loss are exported as safetensors + JSON (models/net/checkpoint.py).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.data.dataset import TokenSet, WindowSampler, build, training_pieces
from models.interface import DEFAULT_WEIGHTS
from models.net import checkpoint
from models.net.transformer import GPT, GPTConfig
from models.net.vocab import VOCAB

log = logging.getLogger(__name__)

PRESETS = {
    "tiny": GPTConfig(vocab_size=len(VOCAB), block_size=256, n_layer=2, n_head=4, n_embd=64),
    "cpu": GPTConfig(vocab_size=len(VOCAB), block_size=384, n_layer=4, n_head=6, n_embd=192, dropout=0.05),
    "small": GPTConfig(vocab_size=len(VOCAB), block_size=1024, n_layer=5, n_head=8, n_embd=320, dropout=0.1),
    "base": GPTConfig(vocab_size=len(VOCAB), block_size=1024, n_layer=8, n_head=8, n_embd=384, dropout=0.1),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="dawbridge train", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="fine-tune on this folder of MIDI files instead of the corpus")
    p.add_argument("--tokens", type=Path, default=Path("runs/tokens"), help="token cache folder (train.npz, valid.npz)")
    p.add_argument("--run-dir", type=Path, default=Path("runs/train"), help="checkpoints and logs go here")
    p.add_argument("--out", type=Path, help="export the best weights to this path stem (default: RUN_DIR/model)")
    p.add_argument("--init", type=Path, help="start from these weights (default with --data: the shipped model)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="cpu",
                   help="model size: the shipped model is 'cpu'; 'small' and 'base' suit a GPU")
    p.add_argument("--steps", type=int, default=20000)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--block", type=int, help="training window in tokens (default: the preset's)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-batches", type=int, default=6)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (GPU)")
    p.add_argument("--fresh", action="store_true", help="ignore a checkpoint in RUN_DIR and start over")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop (and checkpoint) after this long")
    args = p.parse_args(argv)
    if args.steps < 1 or args.batch < 1:
        p.error("--steps and --batch must be at least 1")
    return args


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")
    return name


def token_sets(args: argparse.Namespace) -> tuple[TokenSet, TokenSet]:
    if args.data is not None:
        from models.data.midi_folder import load_folder

        pieces = load_folder(args.data)
        if not pieces["train"]:
            raise SystemExit(f"--data {args.data}: no usable MIDI files found")
        return build({"user": pieces["train"]}), build({"user": pieces["valid"] or pieces["train"][:1]})
    train_path, valid_path = args.tokens / "train.npz", args.tokens / "valid.npz"
    if not (TokenSet.current(train_path) and TokenSet.current(valid_path)):
        log.info("building the token cache in %s (parses the corpus once)", args.tokens)
        splits = training_pieces()
        build(splits["train"]).save(train_path)
        build(splits["valid"]).save(valid_path)
    return TokenSet.load(train_path), TokenSet.load(valid_path)


def lr_at(step: int, args: argparse.Namespace) -> float:
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def evaluate(model: GPT, sampler: WindowSampler, batches: int, batch: int, device: str, dtype: torch.dtype) -> float:
    model.eval()
    losses = []
    for _ in range(batches):
        x, y = sampler.batch(batch, device)
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype != torch.float32):
            logits = model(x)
        losses.append(torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-1).item())
    model.train()
    return float(np.mean(losses))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    from tqdm import tqdm

    device = pick_device(args.device)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    torch.manual_seed(args.seed)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    train, valid = token_sets(args)
    init = args.init or (DEFAULT_WEIGHTS if args.data is not None else None)
    if init is not None:
        model, _ = checkpoint.load(checkpoint.stem_of(init), device, grow=True)
        model.train()
    else:
        model = GPT(GPTConfig(**asdict(PRESETS[args.preset]))).to(device)
    block = args.block or model.config.block_size
    sampler = WindowSampler(train, block, args.seed)
    val_sampler = WindowSampler(valid, block, args.seed + 1, augment=False)
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1, fused=device == "cuda")
    state_path, out = args.run_dir / "state.pt", args.out or args.run_dir / "model"
    step, best = 0, float("inf")
    if state_path.exists() and not args.fresh:
        state = torch.load(state_path, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optim.load_state_dict(state["optim"])
        step, best = int(state["step"]), float(state["best"])
        sampler.rng = np.random.default_rng(args.seed + step)
        log.info("resumed from %s at step %d (best validation loss %.4f)", state_path, step, best)
    forward = torch.compile(model) if args.compile else model
    log.info("model: %.2fM parameters, %s, %s; %d train / %d valid pieces",
             model.num_params() / 1e6, device, dtype, len(train), len(valid))
    started, history, first_step = time.time(), [], step
    bar = tqdm(total=args.steps, initial=step, desc="train", unit="step", file=sys.stderr)
    model.train()
    while step < args.steps:
        for group in optim.param_groups:
            group["lr"] = lr_at(step, args)
        x, y = sampler.batch(args.batch, device)
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype != torch.float32):
            logits = forward(x)
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), y.flatten(), ignore_index=-1)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        step += 1
        if args.max_minutes and step == first_step + 50:
            args.steps = fit_steps(args, step, step - first_step, time.time() - started)
            bar.total = args.steps
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", best=f"{best:.3f}")
        timed_out = args.max_minutes and time.time() - started > args.max_minutes * 60
        if step % args.eval_every == 0 or step == args.steps or timed_out:
            val = evaluate(model, val_sampler, args.eval_batches, args.batch, device, dtype)
            val_sampler.rng = np.random.default_rng(args.seed + 1)  # the same windows every time
            history.append({"step": step, "train_loss": round(loss.item(), 4), "valid_loss": round(val, 4)})
            log.info("step %d: train loss %.4f, validation loss %.4f", step, loss.item(), val)
            if val < best:
                best = val
                checkpoint.save(model, out, _meta(args, model, step, val, history, train))
            args.run_dir.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model.state_dict(), "optim": optim.state_dict(), "step": step, "best": best},
                       state_path.with_suffix(".tmp"))
            state_path.with_suffix(".tmp").replace(state_path)
        if timed_out:
            log.info("stopping after %.1f minutes; run again to resume", args.max_minutes)
            break
    bar.close()
    log.info("best validation loss %.4f; weights at %s.safetensors", best, out)
    return 0


def fit_steps(args: argparse.Namespace, step: int, done: int, elapsed: float) -> int:
    """With --max-minutes: shorten the run (and its learning-rate schedule) to what fits,
    measured over the ``done`` steps this process has run so far."""
    per_step = elapsed / done * 1.1  # headroom for validation passes
    budget = args.max_minutes * 60 - elapsed
    fitted = min(args.steps, int(step + budget / per_step))
    log.info("%.1f ms per step: planning %d steps to fit %.1f minutes", per_step * 1000, fitted, args.max_minutes)
    return fitted


def _meta(args: argparse.Namespace, model: GPT, step: int, val: float, history: list[dict[str, Any]],
          train: TokenSet) -> dict[str, Any]:
    return {
        "name": out_name(args),
        "steps": step,
        "valid_loss": round(val, 4),
        "batch": args.batch,
        "lr": args.lr,
        "seed": args.seed,
        "parameters": model.num_params(),
        "sources": train.names,
        "history": history[-20:],
        "trained": time.strftime("%Y-%m-%d"),
    }


def out_name(args: argparse.Namespace) -> str:
    return "dawbridge-user" if args.data is not None else f"dawbridge-{args.preset}"


if __name__ == "__main__":
    raise SystemExit(main())
