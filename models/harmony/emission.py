"""The planner's melody reading: a small network that looks at a window of the melody around
each harmonic step (the notes struck on the steps around it, how the line moves into and out
of the step, every note of the step, where the step falls in the bar and in the phrase) and
gives a probability for each chord. Trained on the training chorales' step labels at table
build time (torch), run with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from models.representation import Note

WINDOW = 5  # steps either side
LEAP = 12  # melodic intervals are clipped to an octave either way
FEATURES = (2 * WINDOW + 1) * 13 + 12 + 2 * (2 * LEAP + 1) + 3 + 3 + 1


def onset_classes(rel: Sequence[Note], step: float, n: int) -> list[int | None]:
    """Per step, the (key-relative) pitch sounding at the step's start, or None."""
    out: list[int | None] = [None] * n
    for x in rel:
        first, last = math.ceil(x.start / step - 1e-6), math.ceil(x.end / step - 1e-6)
        for k in range(first, min(last, n)):
            out[k] = x.pitch
    return out


def features(rel: Sequence[Note], step: float, n: int, within: np.ndarray, positions: Sequence[int],
             ends: Sequence[bool], minor: bool) -> np.ndarray:
    """(n, FEATURES): the melody window of every step. ``rel``: melody notes with pitches
    relative to the tonic (kept in their octave); ``within``: (n, 12) shares of each pitch class
    in the step."""
    pitches = onset_classes(rel, step, n)
    x = np.zeros((n, FEATURES), dtype=np.float32)
    for k in range(n):
        col = 0
        for o in range(-WINDOW, WINDOW + 1):
            p = pitches[k + o] if 0 <= k + o < n else None
            x[k, col + (12 if p is None else p % 12)] = 1.0
            col += 13
        x[k, col:col + 12] = within[k]
        col += 12
        for o in (-1, 1):
            p, q = pitches[k], pitches[k + o] if 0 <= k + o < n else None
            if p is not None and q is not None:
                x[k, col + LEAP + max(-LEAP, min(LEAP, q - p))] = 1.0
            col += 2 * LEAP + 1
        x[k, col + positions[k]] = 1.0
        col += 3
        x[k, col] = float(ends[k])
        x[k, col + 1] = float(k == 0)
        x[k, col + 2] = float(k == n - 1)
        col += 3
        x[k, col] = float(minor)
    return x


class Emission:
    """log P(chord | melody window) from a one-hidden-layer network."""

    def __init__(self, params: dict) -> None:
        self.w1 = np.asarray(params["w1"], dtype=np.float32)  # (FEATURES, H)
        self.b1 = np.asarray(params["b1"], dtype=np.float32)
        self.w2 = np.asarray(params["w2"], dtype=np.float32)  # (H, S)
        self.b2 = np.asarray(params["b2"], dtype=np.float32)

    def log_probs(self, x: np.ndarray) -> np.ndarray:
        h = np.maximum(x @ self.w1 + self.b1, 0.0)
        z = h @ self.w2 + self.b2
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))


def train(x: np.ndarray, y: np.ndarray, states: int, hidden: int = 96, epochs: int = 400, seed: int = 0) -> dict:
    """Fit the network (full batch, Adam, weight decay, dropout) and return its parameters."""
    import torch

    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(),
                              torch.nn.Dropout(0.3), torch.nn.Linear(hidden, states))
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y).long()
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(xt), yt, label_smoothing=0.05)
        loss.backward()
        opt.step()
    first, second = net[1], net[4]
    assert isinstance(first, torch.nn.Linear) and isinstance(second, torch.nn.Linear)

    def plain(t: torch.Tensor) -> list:
        return t.detach().numpy().round(4).tolist()

    return {"w1": plain(first.weight.T), "b1": plain(first.bias), "w2": plain(second.weight.T), "b2": plain(second.bias)}
