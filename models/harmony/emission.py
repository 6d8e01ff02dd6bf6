"""The planner's melody reading: small bidirectional GRUs that read the whole melody, one input
row per harmonic step (the notes struck on the steps around it, how the line moves into and
out of the step, every note of the step, where the step falls in the bar, how far it lies from
the phrase's close and from the piece's end), and give a probability for each chord at every
step. A few networks trained from different seeds are averaged. Trained on the training
chorales at table build time (torch), run with numpy.

The training target of a step is its chord label blended with the chords that would agree best
with what Bach's four voices sound at the step (the pitch classes that chord agreement
compares), so the reading leans towards chords that match the sound, not only the label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from models.representation import Note

WINDOW = 5  # steps either side
LEAP = 12  # melodic intervals are clipped to an octave either way
# phrase distances, one-hot: steps to the next phrase end (0-3, 4+ or none), steps since the
# last one (0-2, 3+ or none), steps to the piece's end (0, 1, 2+)
TO_CLOSE, SINCE_CLOSE, TO_END = 5, 4, 3
FEATURES = (2 * WINDOW + 1) * 13 + 12 + 2 * (2 * LEAP + 1) + 3 + 3 + 1 + TO_CLOSE + SINCE_CLOSE + TO_END
BLEND = 0.6  # the share of the training target given to the chords that agree best with Bach
SHARPNESS = 40.0  # how sharply that share favours the best-agreeing chords


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
    """(n, FEATURES): the melody around every step. ``rel``: melody notes with pitches relative
    to the tonic (kept in their octave); ``within``: (n, 12) shares of each pitch class in the
    step."""
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
    x[:, FEATURES - TO_CLOSE - SINCE_CLOSE - TO_END:] = phrase_distances(ends, n)
    return x


def phrase_distances(ends: Sequence[bool], n: int) -> np.ndarray:
    """(n, TO_CLOSE + SINCE_CLOSE + TO_END) one-hot: how far each step lies from the next phrase
    end (itself included), from the last one before it, and from the piece's last step."""
    out = np.zeros((n, TO_CLOSE + SINCE_CLOSE + TO_END), dtype=np.float32)
    after: int | None = None
    for k in range(n - 1, -1, -1):
        after = k if ends[k] else after
        out[k, TO_CLOSE - 1 if after is None else min(after - k, TO_CLOSE - 1)] = 1.0
    before: int | None = None
    for k in range(n):
        out[k, TO_CLOSE + (SINCE_CLOSE - 1 if before is None else min(k - before - 1, SINCE_CLOSE - 1))] = 1.0
        before = k if ends[k] else before
        out[k, TO_CLOSE + SINCE_CLOSE + min(n - 1 - k, TO_END - 1)] = 1.0
    return out


class Emission:
    """log P(chord | the whole melody) per step: each network's reading (a projection of the
    step's features, a GRU each way over the steps, one output layer over both and the
    projection), averaged over the networks in log space."""

    def __init__(self, params: dict) -> None:
        nets = params["networks"]

        def stack(key: str) -> np.ndarray:
            return np.stack([np.asarray(m[key], dtype=np.float32) for m in nets])

        self.proj_w, self.proj_b = stack("proj_w"), stack("proj_b")  # (M, FEATURES, P), (M, P)
        # both directions of every network in one batch: (2M, 3H, P), (2M, H, 3H), (2M, 3H)
        self.w_ih = np.concatenate([stack("fwd_w_ih"), stack("bwd_w_ih")])
        self.w_hh = np.ascontiguousarray(np.concatenate([stack("fwd_w_hh"), stack("bwd_w_hh")]).transpose(0, 2, 1))
        self.b_ih = np.concatenate([stack("fwd_b_ih"), stack("bwd_b_ih")])
        self.b_hh = np.concatenate([stack("fwd_b_hh"), stack("bwd_b_hh")])[:, None]  # (2M, 1, 3H)
        self.out_w, self.out_b = stack("out_w"), stack("out_b")  # (M, 2H + P, S), (M, S)

    def log_probs(self, x: np.ndarray) -> np.ndarray:
        m, hidden = len(self.proj_w), self.w_hh.shape[1]
        proj = np.maximum(np.einsum("nf,mfp->mnp", x.astype(np.float32), self.proj_w) + self.proj_b[:, None], 0.0)
        inputs = np.concatenate([proj, proj[:, ::-1]])  # the backward GRUs read the steps in reverse
        gates = np.einsum("bnp,bgp->bng", inputs, self.w_ih) + self.b_ih[:, None]  # (2M, n, 3H)
        h = np.zeros((2 * m, 1, hidden), dtype=np.float32)
        states = np.empty((2 * m, len(x), hidden), dtype=np.float32)
        for k in range(len(x)):
            rec = h @ self.w_hh + self.b_hh  # (2M, 1, 3H)
            gate = gates[:, k:k + 1]
            reset_update = 1.0 / (1.0 + np.exp(-(gate[..., :2 * hidden] + rec[..., :2 * hidden])))
            new = np.tanh(gate[..., 2 * hidden:] + reset_update[..., :hidden] * rec[..., 2 * hidden:])
            update = reset_update[..., hidden:]
            h = new + update * (h - new)
            states[:, k] = h[:, 0]
        both = np.concatenate([states[:m], states[m:, ::-1], proj], axis=2)
        z = np.einsum("mnd,mds->mns", both, self.out_w) + self.out_b[:, None]
        return _log_softmax(_log_softmax(z.astype(np.float64)).mean(0))


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def train(samples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], states: int, seeds: Sequence[int] = (0, 1, 2),
          projection: int = 32, hidden: int = 32, epochs: int = 60, batch: int = 16) -> dict:
    """Fit one network per seed on ``samples`` (per chorale: (steps, FEATURES) features, the
    steps' chord states with -1 where unlabelled, and (steps, states) agreement of each chord
    with Bach's sound at the step) and return their parameters. Minibatches of chorales of
    similar length, AdamW, dropout."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same numbers on any machine
    try:
        return {"networks": [_train_one(samples, states, seed, projection, hidden, epochs, batch) for seed in seeds]}
    finally:
        torch.set_num_threads(threads)


def targets(labels: np.ndarray, agreement: np.ndarray, states: int) -> np.ndarray:
    """(steps, states) training targets: the label (smoothed) blended with a softmax over how
    well each chord agrees with Bach's sound; zero rows where a step has no label."""
    hard = np.zeros((len(labels), states), dtype=np.float32)
    hard[np.arange(len(labels)), np.maximum(labels, 0)] = 1.0
    soft = np.exp(SHARPNESS * (agreement - agreement.max(1, keepdims=True)))
    soft /= soft.sum(1, keepdims=True)
    out = (1 - BLEND) * (0.95 * hard + 0.05 / states) + BLEND * soft
    return (out * (labels >= 0)[:, None]).astype(np.float32)


def _train_one(samples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], states: int, seed: int,
               projection: int, hidden: int, epochs: int, batch: int) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    order = sorted(range(len(samples)), key=lambda i: len(samples[i][0]))
    batches = []
    for start in range(0, len(order), batch):
        chunk = [samples[i] for i in order[start:start + batch]]
        length = max(len(x) for x, _, _ in chunk)
        xb = np.zeros((len(chunk), length, FEATURES), dtype=np.float32)
        tb = np.zeros((len(chunk), length, states), dtype=np.float32)
        for r, (x, y, g) in enumerate(chunk):
            xb[r, :len(x)] = x
            tb[r, :len(x)] = targets(y, g, states)
        batches.append((torch.from_numpy(xb), torch.from_numpy(tb)))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.drop_in, self.drop = nn.Dropout(0.2), nn.Dropout(0.3)
            self.proj = nn.Linear(FEATURES, projection)
            self.gru = nn.GRU(projection, hidden, batch_first=True, bidirectional=True)
            self.out = nn.Linear(2 * hidden + projection, states)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = torch.relu(self.proj(self.drop_in(x)))
            g, _ = self.gru(h)
            return self.out(self.drop(torch.cat([g, h], -1)))

    net = Net()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
    for _ in range(epochs):
        net.train()
        for j in rng.permutation(len(batches)):
            xb, tb = batches[j]
            opt.zero_grad()
            loss = -(tb * torch.log_softmax(net(xb), -1)).sum() / tb.sum()
            loss.backward()
            opt.step()

    def plain(t: torch.Tensor) -> list:
        return t.detach().double().numpy().round(4).tolist()  # in float64: 4 decimals, not float32's tail

    gru = dict(net.gru.named_parameters())  # weight_ih_l0, ..., bias_hh_l0_reverse
    return {"proj_w": plain(net.proj.weight.T), "proj_b": plain(net.proj.bias),
            "fwd_w_ih": plain(gru["weight_ih_l0"]), "fwd_w_hh": plain(gru["weight_hh_l0"]),
            "fwd_b_ih": plain(gru["bias_ih_l0"]), "fwd_b_hh": plain(gru["bias_hh_l0"]),
            "bwd_w_ih": plain(gru["weight_ih_l0_reverse"]), "bwd_w_hh": plain(gru["weight_hh_l0_reverse"]),
            "bwd_b_ih": plain(gru["bias_ih_l0_reverse"]), "bwd_b_hh": plain(gru["bias_hh_l0_reverse"]),
            "out_w": plain(net.out.weight.T), "out_b": plain(net.out.bias)}
