"""The decode step in numpy: the cached forward pass of :class:`models.net.transformer.GPT` on
CPU in float32, with the weights laid out for the small products decoding does.

Decoding reads a few tokens per row per step, so each tensor operation's dispatch costs more
than its arithmetic. numpy's dispatch is several times cheaper than torch's, and the weights
are kept as contiguous, pre-transposed float32 matrices (queries, keys and values fused in one)
so every product is one BLAS call on memory read in order. RoPE is applied elementwise from
(cos, sin) tables. The KV cache is the model's own :class:`KVCache` (its tensors seen through
numpy without copies), so the torch path and this one can take turns on one cache.

Only GELU runs in torch (exact erf, as training used it; numpy has no erf): one call per layer
on a zero-copy view.

numpy's BLAS is held to one thread, as torch is while decoding (models/composer.py): for a
handful of rows its worker threads only add hand-over latency, and they do not share the
caller's flush-denormals setting (several times slower on a busy 2-core machine).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, cast

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from models.net.transformer import GPT, Block, KVCache

EPS = 1e-5  # nn.LayerNorm's default


def _affine(norm: torch.nn.LayerNorm, weight: torch.Tensor, scale: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``layer_norm(x) @ weight.T`` as ``normalized(x) @ W + b``: the norm's gain folded into
    the rows of W (C, out), contiguous; its bias carried through into b (out,). ``scale``
    multiplies the output columns (the queries' 1 / sqrt(D))."""
    w = weight.detach().double().numpy().T  # (C, out)
    gain, shift = (t.detach().double().numpy() for t in (norm.weight, norm.bias))
    folded, bias = gain[:, None] * w, shift @ w
    if scale is not None:
        folded, bias = folded * scale, bias * scale
    return np.ascontiguousarray(folded, np.float32), bias.astype(np.float32)


class Layer:
    """One block's weights, laid out for ``x @ W`` with ``x`` (N, C); layer norms folded in."""

    def __init__(self, block: Block, head_dim: int) -> None:
        C = block.attn.proj.weight.shape[0]
        scale = np.ones(3 * C)
        scale[:C] = 1.0 / math.sqrt(head_dim)  # attention's scaling, on the queries
        self.qkv, self.qkv_bias = _affine(block.ln1, block.attn.qkv.weight, scale)  # (C, 3C), (3C,)
        self.proj = np.ascontiguousarray(block.attn.proj.weight.detach().float().numpy().T)  # (C, C)
        self.up, self.up_bias = _affine(block.ln2, block.mlp.up.weight)  # (C, 4C), (4C,)
        self.down = np.ascontiguousarray(block.mlp.down.weight.detach().float().numpy().T)  # (4C, C)


class NumpyStep:
    """The model's weights in serving layout, and the cached forward pass over them."""

    def __init__(self, model: GPT) -> None:
        config = model.config
        self.C, self.H = config.n_embd, config.n_head
        self.D = self.C // self.H
        self.rope_base = config.rope_base
        self.wte = model.wte.weight.detach().float().numpy().copy()  # (V, C): embedding rows
        self.head, self.head_bias = _affine(model.ln_f, model.wte.weight)  # tied output head (C, V)
        self.layers = [Layer(cast("Block", b), self.D) for b in model.blocks]
        self._cos = self._sin = np.zeros((0, self.D // 2), np.float32)
        _one_blas_thread()

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Hidden states (N, C) -> logits (N, V)."""
        return _normalized(x) @ self.head + self.head_bias

    def hidden(self, ids: np.ndarray, lengths: np.ndarray | None, cache: KVCache,
               wanted: np.ndarray | None = None) -> np.ndarray:
        """Read ``ids`` (B, T) into ``cache``: every row all T tokens at the cache's position
        (``lengths`` None), else row b its first ``lengths[b]`` at its own position
        (``cache.row_pos``). Writes their keys and values and returns the hidden states of the
        tokens read, (N, C), packed in row order; with ``wanted`` (indices into those N), only
        theirs, in that order. The last layer's keys and values are all the cache needs of
        it, so where at most half the tokens are wanted (a long context read for the logits
        after its last token) the rest of that layer runs for those alone."""
        B, W = ids.shape
        C, H, D = self.C, self.H, self.D
        offsets = np.arange(W)
        if lengths is None:
            start = np.full(B, cache.pos)
            rows, positions = np.repeat(np.arange(B), W), (start[:, None] + offsets).reshape(B * W)
            flat = None
            end = cache.pos + W
            seen = end - W + 1 + offsets  # query t sees the slots before this one's
        else:
            assert cache.row_pos is not None
            start = cache.row_pos.numpy()
            real = offsets < lengths[:, None]  # (B, W)
            flat = real.reshape(B * W).nonzero()[0]  # packed token -> its (row, column) in (B, W)
            rows, positions = flat // W, (start[:, None] + offsets).reshape(B * W)[flat]
            end = int((start + lengths).max())
            # a padding query sees every slot (its output is never read)
            seen = np.where(real, start[:, None] + offsets + 1, end)  # (B, W)
        N = rows.shape[0]
        cache.reserve(end, B, H, D)
        by_dim = self._keys_by_dim(cache)
        cache.edits += 1
        if by_dim is not None:
            cache.keys_by_dim_edits = cache.edits
        angles = self._angles(positions + cache.shift)
        alone = flat is None and W == 1  # one query per row, each at its row's end: it sees every slot
        x = self.wte[ids.reshape(B * W) if flat is None else ids.reshape(B * W)[flat]]  # (N, C)
        few = wanted is not None and 2 * len(wanted) <= N
        for layer, w in enumerate(self.layers):
            qkv = self._normalized(x) @ w.qkv
            qkv += w.qkv_bias
            k_buf, v_buf = cache.arrays(layer)
            # RoPE on queries and keys together; keys and values into the cache
            qkv = self._rope_and_store(qkv, rows, positions, cache.shift, angles, k_buf, v_buf,
                                       None if by_dim is None else by_dim[layer]).reshape(N, 3 * H, D)
            if few and layer == len(self.layers) - 1:
                assert wanted is not None
                columns = wanted % W if flat is None else flat[wanted] % W
                sees = seen[columns] if flat is None else seen[rows[wanted], columns]
                return self._last_layer(w, x[wanted], qkv[wanted, :H], rows[wanted], None if alone else sees,
                                        k_buf, v_buf, end)
            if flat is None:
                q = qkv[:, :H].reshape(B, W, H, D).transpose(0, 2, 1, 3)  # (B, H, W, D)
            else:
                q = np.zeros((B * W, H, D), np.float32)
                q[flat] = qkv[:, :H]
                q = q.reshape(B, W, H, D).transpose(0, 2, 1, 3)
            y = self._causal(q, k_buf[:, :, :end], v_buf[:, :, :end], None if alone else seen)
            y = y.transpose(0, 2, 1, 3).reshape(B * W, C)  # (B*W, C)
            x += (y if flat is None else y[flat]) @ w.proj
            h = self._normalized(x) @ w.up
            h += w.up_bias
            x += F.gelu(torch.from_numpy(h)).numpy() @ w.down
        return x if wanted is None else x[wanted]

    def _last_layer(self, w: Layer, x: np.ndarray, q: np.ndarray, rows: np.ndarray, seen: np.ndarray | None,
                    k_buf: np.ndarray, v_buf: np.ndarray, end: int) -> np.ndarray:
        """The rest of a layer whose keys and values are written, for some of its tokens: ``x``
        (S, C) their residual stream, ``q`` (S, H, D) their queries, ``rows`` their cache rows,
        ``seen`` (S,) or None (all) how many slots each sees."""
        S = x.shape[0]
        y = _attend(q[:, :, None, :], k_buf[rows, :, :end], v_buf[rows, :, :end],
                    None if seen is None else _mask(seen, end)[:, None, None, :])  # (S, H, 1, D)
        x += y.reshape(S, self.C) @ w.proj
        h = self._normalized(x) @ w.up
        h += w.up_bias
        x += F.gelu(torch.from_numpy(h)).numpy() @ w.down
        return x

    # The pieces of a pass between the products, each the fused step's to replace with a kernel.

    @staticmethod
    def _normalized(x: np.ndarray) -> np.ndarray:
        return _normalized(x)

    def _keys_by_dim(self, cache: KVCache) -> list[np.ndarray] | None:
        """The fused step's copy of the keys laid out by dimension, where it is current (this
        pass writes its keys there too), else None."""
        return cache.current_keys_by_dim()

    def _angles(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What :meth:`_rope_and_store` rotates by, for tokens at ``positions``: the cos and sin
        of each pair's angle, (N, 1, D/2) each."""
        return self._rope(positions)

    def _rope_and_store(self, qkv: np.ndarray, rows: np.ndarray, slots: np.ndarray, shift: int,
                        angles: tuple[np.ndarray, np.ndarray], k_buf: np.ndarray, v_buf: np.ndarray,
                        by_dim: np.ndarray | None) -> np.ndarray:
        """``qkv`` (N, 3C) with the queries and keys rotated by each token's position (slot +
        ``shift``; ``angles`` from :meth:`_angles`); the keys and values written at each
        token's cache row and slot (the keys into ``by_dim`` too, when given). Returns the
        rotated (N, 3C)."""
        N, H, D = qkv.shape[0], self.H, self.D
        cos, sin = angles
        qkv = qkv.reshape(N, 3 * H, D)
        qk = _rotated(qkv[:, :2 * H], cos, sin)
        k_buf[rows, :, slots] = qk[:, H:]
        if by_dim is not None:
            by_dim[rows, :, :, slots] = qk[:, H:]
        v_buf[rows, :, slots] = qkv[:, 2 * H:]
        qkv[:, :2 * H] = qk
        return qkv.reshape(N, 3 * H * D)

    @staticmethod
    def _causal(q: np.ndarray, k: np.ndarray, v: np.ndarray, seen: np.ndarray | None) -> np.ndarray:
        """Attention of queries (B, H, W, D) over keys and values (B, H, S, D), query t of row b
        over the first ``seen[t]`` slots (``seen`` (W,)) or ``seen[b, t]`` ((B, W)); None: all."""
        if seen is None:
            return _attend(q, k, v, None)
        mask = _mask(seen, k.shape[2])
        return _attend(q, k, v, mask if seen.ndim == 1 else mask[:, None])

    def _rope(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of each pair's angle per position, each (N, 1, D/2), for
        :func:`_rotated`."""
        self._grow_tables(int(positions.max()) + 1)
        return self._cos[positions][:, None], self._sin[positions][:, None]

    def _grow_tables(self, need: int) -> None:
        """cos and sin of each pair's angle (L, D/2) for positions up to at least ``need``."""
        if self._cos.shape[0] < need:
            size = max(need, 2 * self._cos.shape[0], 1024)
            inv = 1.0 / (self.rope_base ** (np.arange(0, self.D, 2, dtype=np.float32) / self.D))
            angles = np.arange(size, dtype=np.float32)[:, None] * inv[None, :].astype(np.float32)
            self._cos, self._sin = np.cos(angles), np.sin(angles)


def _one_blas_thread() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a declared dependency; without it numpy's BLAS keeps its threads
        return
    threadpool_limits(1, user_api="blas")


def _rotated(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """RoPE as :func:`models.net.transformer.apply_rope` does it: each pair (x[2i], x[2i+1]) of
    ``x`` (N, heads, D) rotated by its position's angle (``cos``, ``sin``: (N, 1, D/2))."""
    N, heads, D = x.shape
    pairs = x.reshape(N, heads, D // 2, 2)
    even, odd = pairs[..., 0], pairs[..., 1]
    out = np.empty((N, heads, D // 2, 2), np.float32)
    out[..., 0] = even * cos - odd * sin
    out[..., 1] = odd * cos + even * sin
    return out.reshape(N, heads, D)


def _attend(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Attention of queries (B, H, W, D), prescaled, over keys and values (B, H, S, D), with
    ``mask`` (W, S) or (B, 1, W, S) added to the scores: (B, H, W, D)."""
    att = q @ k.transpose(0, 1, 3, 2)  # (B, H, W, S)
    if mask is not None:
        att += mask
    att -= np.maximum.reduce(att, axis=-1, keepdims=True)
    np.exp(att, out=att)
    att /= np.add.reduce(att, axis=-1, keepdims=True)
    return att @ v


def packed_indices(lengths: np.ndarray, width: int) -> np.ndarray:
    """Where the tokens read lie in a (B, ``width``) block of rows padded to that width, row b
    reading its first ``lengths[b]``: their flat indices, packed in row order."""
    return (np.arange(width) < lengths[:, None]).reshape(-1).nonzero()[0]


def _mask(seen: np.ndarray, slots: int) -> np.ndarray:
    """What attention adds to each score: 0 for the first ``seen`` slots of a query, -inf for
    the rest; ``seen`` (...,) -> (..., slots)."""
    return np.where(np.arange(slots) < seen[..., None], np.float32(0), np.float32(-np.inf))


def _normalized(x: np.ndarray) -> np.ndarray:
    """Layer norm without its gain and bias (those are folded into the next weights), (N, C)."""
    inv_c = np.float32(1.0 / x.shape[-1])
    centred = x - np.add.reduce(x, axis=-1, keepdims=True) * inv_c
    var = np.add.reduce(centred * centred, axis=-1, keepdims=True) * inv_c
    var += np.float32(EPS)
    np.sqrt(var, out=var)
    centred /= var
    return centred
