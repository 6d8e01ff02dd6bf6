"""Decoding passes on a CUDA GPU replayed as CUDA graphs.

On a GPU the torch path's pass is about 80 small kernels, and on the H200 measured each cost
the host 10-80 us to launch against about 0.2 us of the GPU's work (docs/decoding-speed.md, "On
a GPU"). A CUDA graph launches a captured pass as one. A graph replays fixed shapes and fixed
memory, so a pass here is laid out for that:

- **Fixed shapes.** A pass of ``B`` rows reads ``W`` tokens per row, ``W`` rounded up to one of
  :data:`WIDTHS`; one graph per (rows, width), captured at its first use and kept. Every token
  of the (B, W) block goes through the products, padding included (the GPU's time hardly
  changes), and attention runs over the whole of every row's cache, each query masked to its
  row's slots up to its own.
- **Fixed memory.** The keys and values live in buffers this object owns, :data:`MAX_ROWS` rows
  of ``block_size + max(WIDTHS)`` slots. A cache that decodes here *adopts* them: its own keys
  and values are copied in once and its tensors become views of these rows, so the eager path,
  rolls and copies see the same numbers. A cache that adopts them after another first gives the
  other its own copy back (two decodes may take turns).
- **Padding's keys.** A padding token's key and value are written past its row's last real
  slot, where no real query looks and the row's next tokens overwrite them; the buffers' last
  ``max(WIDTHS)`` slots take them where a row is near the end of its context.

The numbers are the eager torch path's up to float rounding (the products see other shapes).
Off unless asked for (:func:`wanted`): it is not yet measured on a GPU.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from models.net import vocab as V
from models.net.step import packed_indices

if TYPE_CHECKING:
    from models.net.transformer import GPT, KVCache

log = logging.getLogger(__name__)

WIDTHS = (1, 2, 4, 8, 16, 32)  # a pass's tokens per row, rounded up to one of these; wider runs eagerly
MAX_ROWS = 32  # rows of the kept buffers (composer.MAX_ROWS decode together at most)
POSITIONS = 8192  # RoPE positions the graphs can rotate to (a roll moves positions on); past them, eagerly
ENV = "DAWBRIDGE_CUDA_GRAPHS"


def wanted() -> bool:
    """Whether decoding on CUDA replays graphs: ``DAWBRIDGE_CUDA_GRAPHS=1`` in the environment."""
    return os.environ.get(ENV, "") == "1"


def width_for(width: int) -> int | None:
    """The graph width a pass of ``width`` tokens per row runs at, None past the widest."""
    return next((w for w in WIDTHS if w >= width), None)


class _Graph:
    """One pass of fixed shape: its static inputs, its output, and how to replay it (a CUDA
    graph's replay; elsewhere, as in the tests on a CPU, the pass run eagerly on the same
    tensors)."""

    def __init__(self, rows: int, width: int, device: torch.device) -> None:
        self.inputs = torch.zeros(3, rows, width, dtype=torch.long, device=device)  # ids, slots, positions
        self.replay: Callable[[], None] = lambda: None
        self.out: torch.Tensor | None = None


class GraphedPasses:
    """The decoding passes of one model on CUDA, as graphs (see the module's docstring)."""

    def __init__(self, model: GPT) -> None:
        cfg = model.config
        weight = model.wte.weight
        self.model = model
        self.device, self.dtype = weight.device, weight.dtype
        self.H, self.D = cfg.n_head, cfg.n_embd // cfg.n_head
        self.slots = cfg.block_size + WIDTHS[-1]
        shape = (MAX_ROWS, self.H, self.slots, self.D)
        self.k = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in range(cfg.n_layer)]
        self.v = [torch.zeros(shape, dtype=self.dtype, device=self.device) for _ in range(cfg.n_layer)]
        self.rotations = model._rotations(POSITIONS, self.device)[:POSITIONS]
        self.every_slot = torch.arange(self.slots, device=self.device)
        self.graphs: dict[tuple[int, int], _Graph] = {}
        self.refused: set[tuple[int, int]] = set()  # shapes whose capture failed: eagerly
        self.owner: weakref.ReferenceType[KVCache] | None = None
        self.lock = threading.Lock()
        self.pool = torch.cuda.graph_pool_handle() if self.device.type == "cuda" else None
        self.key = model._weights_key()  # the weights' versions the graphs were made for

    def takes(self, rows: int, width: int, cache: KVCache) -> bool:
        """Whether a pass of ``rows`` x ``width`` on ``cache`` can run here."""
        graph_width = width_for(width)
        return (graph_width is not None and rows <= MAX_ROWS and (rows, graph_width) not in self.refused
                and cache.pos + graph_width <= self.slots and cache.pos + cache.shift + graph_width <= POSITIONS)

    def run(self, idx: torch.Tensor, lengths: torch.Tensor, cache: KVCache, picks: np.ndarray) -> torch.Tensor | None:
        """:meth:`GPT.forward_rows` as a replayed graph: the logits after the tokens ``picks``
        (indices into the tokens read, packed in row order), (len(picks), V) on the CPU; None
        where this shape cannot be captured (the caller runs it eagerly)."""
        B, T = idx.shape
        W = width_for(T)
        assert W is not None
        with self.lock:
            self._adopt(cache, B)
            graph = self._graph(B, W)
            if graph is None:
                return None
            assert cache.row_pos is not None
            slots = cache.row_pos.numpy()[:, None] + np.arange(W)  # (B, W): padding past each row's end
            host = np.stack([slots, slots + cache.shift])
            graph.inputs[0].fill_(V.PAD)
            graph.inputs[0, :, :T].copy_(idx)
            graph.inputs[1:].copy_(torch.from_numpy(host), non_blocking=False)
            graph.replay()
            assert graph.out is not None
            logits = graph.out.cpu()  # (B * W, V) float32
        cache.edits += 1
        self.model._advance(cache, T, lengths)
        return logits[torch.from_numpy(packed_indices(lengths.numpy(), W)[picks])]

    def body(self, ids: torch.Tensor, slots: torch.Tensor, positions: torch.Tensor,
             k_bufs: list[torch.Tensor], v_bufs: list[torch.Tensor]) -> torch.Tensor:
        """The pass itself, on static tensors: tokens ``ids`` (B, W) at cache ``slots`` (B, W),
        RoPE ``positions`` (B, W); keys and values written into ``k_bufs``/``v_bufs`` (B, H, S, D
        each, S the buffers' slots) -> logits (B * W, V) in float32. Runs eagerly on any device
        too (the tests hold it to the eager path)."""
        model = self.model
        B, W = ids.shape
        H, D = self.H, self.D
        rows = torch.arange(B * W, device=ids.device) // W
        flat = slots.reshape(B * W)
        mask = (self.every_slot[:k_bufs[0].shape[2]] <= slots[:, :, None]).unsqueeze(1)  # (B, 1, W, S)

        def attend(layer: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            k_bufs[layer][rows, :, flat] = k
            v_bufs[layer][rows, :, flat] = v
            y = F.scaled_dot_product_attention(q.reshape(B, W, H, D).transpose(1, 2), k_bufs[layer], v_bufs[layer],
                                               attn_mask=mask)  # (B, H, W, D)
            return y.transpose(1, 2).reshape(B * W, H * D)

        x = model._blocks(F.embedding(ids.reshape(B * W), model.wte.weight), self.rotations[positions.reshape(B * W)],
                          attend)
        return model._head(x, None).float()

    def _adopt(self, cache: KVCache, rows: int) -> None:
        """Make ``cache``'s keys and values views of this object's first ``rows`` rows, its
        numbers copied in; a cache that held them before gets its own copy back."""
        cache.make_ragged(cache.rows() or rows)
        if self._holds(cache, rows):
            return
        before = None if self.owner is None else self.owner()
        if before is not None and before is not cache and self._holds(before, before.rows()):
            before.k = [None if k is None else k.clone() for k in before.k]
            before.v = [None if v is None else v.clone() for v in before.v]
            before._views.clear()
        n = cache.pos
        for layer in range(len(self.k)):
            k, v = cache.k[layer], cache.v[layer]
            if k is not None and v is not None and n:
                self.k[layer][:rows, :, :n].copy_(k[:, :, :n])
                self.v[layer][:rows, :, :n].copy_(v[:, :, :n])
            cache.k[layer], cache.v[layer] = self.k[layer][:rows], self.v[layer][:rows]
        cache._views.clear()
        cache.edits += 1
        self.owner = weakref.ref(cache)

    def _holds(self, cache: KVCache, rows: int) -> bool:
        k = cache.k[0]
        return k is not None and k.data_ptr() == self.k[0].data_ptr() and k.shape[0] == rows

    def _graph(self, rows: int, width: int) -> _Graph | None:
        """The graph of passes of ``rows`` x ``width``, captured at its first use; None where
        capturing fails (logged once; that shape then runs eagerly)."""
        graph = self.graphs.get((rows, width))
        if graph is not None:
            return graph
        graph = _Graph(rows, width, self.device)
        # the capture's own writes go to the buffers' last slots, which no real token uses
        scratch = self.slots - width + torch.arange(width, device=self.device)
        graph.inputs[1:] = scratch
        k_bufs, v_bufs = [k[:rows] for k in self.k], [v[:rows] for v in self.v]
        args = (graph.inputs[0], graph.inputs[1], graph.inputs[2], k_bufs, v_bufs)
        if self.device.type != "cuda":
            def eagerly() -> None:
                graph.out = self.body(*args)

            graph.replay = eagerly
            self.graphs[(rows, width)] = graph
            return graph
        try:
            with torch.inference_mode():
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    for _ in range(2):  # warm-up: kernels chosen and loaded outside the capture
                        self.body(*args)
                torch.cuda.current_stream().wait_stream(side)
                captured = torch.cuda.CUDAGraph()
                with torch.cuda.graph(captured, pool=self.pool):
                    graph.out = self.body(*args)
        except Exception as exc:  # a kernel that cannot be captured: this shape runs eagerly
            log.warning("decoding passes of %d x %d tokens run without a CUDA graph: %s", rows, width, exc)
            self.refused.add((rows, width))
            return None
        graph.replay = captured.replay
        self.graphs[(rows, width)] = graph
        return graph
