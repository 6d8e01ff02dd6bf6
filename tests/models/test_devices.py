"""The torch path as a GPU serves it: bfloat16 weights and activations (models/composer.load).

On every machine the tiny model runs that path in bfloat16 on the CPU, so a dtype slip in it
fails here and not first on a producer's GPU. On a machine with a CUDA GPU the shipped model
runs there too: every op, batched requests, and its logits against the CPU's in float32."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.composer import TransformerComposer
from models.constants import DRUM_CLASSES
from models.interface import DEFAULT_WEIGHTS
from models.net import checkpoint
from models.net.tokenizer import encode
from models.representation import Note, Part, Piece
from models.tasks import (
    ContinueTask,
    DrumsTask,
    FillTask,
    HarmonizeTask,
    RestyleTask,
    Sampling,
    Task,
    VaryTask,
)

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA GPU on this machine")
GM = set(DRUM_CLASSES.values())


def melody(bars: int = 8) -> Part:
    steps = [0, 2, 4, 5, 7, 5, 4, 2]
    return Part(tuple(Note(67 + steps[i % 8], float(i), 1.0) for i in range(4 * bars)), 4.0 * bars)


def groove(bars: int = 4) -> Part:
    notes = []
    for bar in range(bars):
        for i in range(8):
            t = bar * 4 + i * 0.5
            notes.append(Note(42, t, 0.25, 80))
            if i in (0, 4):
                notes.append(Note(36, t, 0.5, 110))
            if i in (2, 6):
                notes.append(Note(38, t, 0.5, 100))
    return Part(tuple(sorted(notes, key=lambda n: (n.start, n.pitch))), 4.0 * bars, kind="drums")


def tasks() -> list[Task]:
    """One request of each op, and drums long enough that the context fills and rolls."""
    return [
        HarmonizeTask(melody(), "chorale", sampling=Sampling(4, 1.0, 3)),
        HarmonizeTask(melody(), "bass", sampling=Sampling(3, 1.0, 1)),
        DrumsTask(4, style="rock", tempo=100.0, sampling=Sampling(2, 1.0, 2)),
        DrumsTask(40, style="funk", tempo=100.0),
        FillTask(groove(), sampling=Sampling(2, 1.0, 5)),
        VaryTask(melody(4), sampling=Sampling(2, 1.0, 4)),
        ContinueTask(melody(4), bars=2),
        RestyleTask(melody(4), "jig"),
    ]


def torch_path(stem: Path, dtype: torch.dtype = torch.bfloat16, device: str = "cpu") -> TransformerComposer:
    """The model on the torch path, as models/composer.load serves a GPU (in bfloat16 there),
    on ``device``."""
    model, meta = checkpoint.load(stem, device, dtype)
    model.decode_path = "torch"
    return TransformerComposer(model, meta, device)


def assert_valid(task: Task, candidates: list[list[Part]]) -> None:
    assert len(candidates) == task.sampling.candidates
    for parts in candidates:
        assert parts and any(part.notes for part in parts), task
        for part in parts:
            for note in part.notes:
                assert 0 <= note.start < part.length and note.duration > 0, (task.op, note)
                assert 0 <= note.pitch <= 127 and 1 <= note.velocity <= 127
            if isinstance(task, (DrumsTask, FillTask)):
                assert {n.pitch for n in part.notes} <= GM | {n.pitch for n in getattr(task, "clip", Part((), 0)).notes}
    if isinstance(task, FillTask):  # outside the filled bar, the clip comes back as it was
        for parts in candidates:
            kept = [n for n in parts[0].notes if n.start < task.clip.length - 4.0]
            assert kept == [n for n in task.clip.notes if n.start < task.clip.length - 4.0]


@pytest.fixture(scope="module")
def bf16_cpu(tiny_weights: Path) -> TransformerComposer:
    return torch_path(tiny_weights)


@pytest.mark.parametrize("index", range(len(tasks())), ids=[f"{t.op}-{i}" for i, t in enumerate(tasks())])
def test_every_op_decodes_in_bfloat16_on_the_torch_path(bf16_cpu: TransformerComposer, index: int) -> None:
    task = tasks()[index]
    assert_valid(task, bf16_cpu.run(task))


def test_bfloat16_logits_follow_float32(tiny_weights: Path) -> None:
    """The same lead read by the float32 model and by its bfloat16 copy: the same next-token
    distribution up to bfloat16's rounding."""
    full, _ = checkpoint.load(tiny_weights, "cpu", torch.float32)
    half, _ = checkpoint.load(tiny_weights, "cpu", torch.bfloat16)
    full.decode_path = half.decode_path = "torch"
    lead = list(torch.randint(4, full.config.vocab_size, (200,), generator=torch.Generator().manual_seed(0)).tolist())
    _, a = full.read_lead(lead, 256)
    _, b = half.read_lead(lead, 256)
    p, q = a.float().softmax(-1), b.float().softmax(-1)
    assert (p - q).abs().sum() < 0.05  # total variation x2


# --- on a CUDA GPU -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def on_cuda() -> TransformerComposer:
    from models.interface import load_composer

    composer = load_composer(DEFAULT_WEIGHTS, "cuda")
    assert isinstance(composer, TransformerComposer)
    assert next(composer.model.parameters()).dtype == torch.bfloat16
    return composer


@needs_cuda
@pytest.mark.parametrize("index", range(len(tasks())), ids=[f"{t.op}-{i}" for i, t in enumerate(tasks())])
def test_every_op_runs_on_cuda(on_cuda: TransformerComposer, index: int) -> None:
    task = tasks()[index]
    first = on_cuda.run(task)
    assert_valid(task, first)


@needs_cuda
def test_cuda_logits_follow_the_cpu(on_cuda: TransformerComposer) -> None:
    """A real lead (a drum groove's tokens) read on the GPU in bfloat16 and on the CPU in
    float32: the next-token distributions agree up to bfloat16's rounding, position by position."""
    cpu, _ = checkpoint.load(checkpoint.stem_of(DEFAULT_WEIGHTS), "cpu", torch.float32)
    lead = encode(Piece((("drums", groove()),), "rock", "test"))
    gpu = on_cuda.model
    ids = torch.tensor([lead])
    with torch.inference_mode():
        p = cpu(ids).softmax(-1)[0]
        q = gpu(ids.cuda()).float().softmax(-1)[0].cpu()
    assert (p.argmax(-1) == q.argmax(-1)).float().mean() > 0.95
    assert (p - q).abs().sum(-1).max() < 0.1


@needs_cuda
def test_batched_requests_on_cuda_each_get_valid_candidates(on_cuda: TransformerComposer) -> None:
    """The studio's shared forward passes (run_many) on the GPU: every request answered, each
    with its own valid candidates."""
    batch = [HarmonizeTask(melody(2 + i % 3), ("chorale", "chords", "bass")[i % 3], sampling=Sampling(4, 1.0, i))
             for i in range(12)]
    outcomes = on_cuda.run_many(batch)
    for task, outcome in zip(batch, outcomes, strict=True):
        assert not isinstance(outcome, Exception), outcome
        assert_valid(task, outcome)
