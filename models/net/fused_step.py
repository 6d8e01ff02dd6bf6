"""The decode step compiled with numba: :class:`models.net.step.NumpyStep`'s cached forward pass,
each layer one compiled call instead of about 45 numpy operations.

A decode step reads a few tokens per row, so the numpy step spends most of its time
dispatching small operations, not computing. Here a layer is one loop nest over the model's
own weights (:class:`OwnLayer`: each matrix as torch keeps it, (out, in); the layer norms apart,
the queries scaled after their product): the products are dot products along the weights'
rows, read in memory order (the kernels whose sums LLVM may reorder, to vectorise them);
RoPE, the cache writes, attention over each row's own slots and the GELU run token by token.
Attention reads the keys from a copy laid out by dimension (B, H, D, S), so a query's scores
are one pass over the slots per dimension, vectorised along the slots with each sum still in
order; its softmax takes exp from a polynomial (within about an ulp of float32), and GELU its
erf from another (within 1.5e-7), which vectorise as library calls do not. The results equal
the numpy step's up to float rounding (``fastmath`` stays off elsewhere: no assumptions about
infinities, which attention's masking needs). A long pass (the context a decode starts from)
stays on the numpy step's BLAS products, with its RoPE, cache writes and softmax in these
kernels; and the sampler's draw is one of them (:func:`draw`).

A model whose weights are all float16 values (:func:`all_half`; the shipped checkpoint is stored
in float16) is read from float16 copies of its matrices: a pass streams half the bytes, and
each weight is widened to float32 exactly as it is read (:func:`_widen`), so the arithmetic is
still float32 on the same weights. A pass's weights mostly come from beyond the 1 MB L2 (they
are 7 MB in float32), so halving them is what pays: four chorale candidates 1.11x, drums
1.15x, fill 1.03x in-process. Other models (a float32 checkpoint in training) are read in
float32 by the same kernels.

numba is optional (the ``fast`` extra). Its kernels take only float32 / int64 arrays (and the
weights' float16 bits) of fixed dimensions, whatever the model's size, so one compilation
serves every model. Compiling takes
several seconds of CPU, so it never blocks serving: :func:`ready` starts it on a background
thread the first time a model asks (at the first pause of a second in the decoding, so the
replies keep the core), and the model serves from the numpy step until the kernels are ready
(:meth:`models.net.transformer.GPT._serving_step`). ``cache=True`` keeps the compiled kernels
in numba's disk cache (beside this module's bytecode, else the user's cache directory), so
later processes load them in about half a second of CPU instead of compiling. That cache
holds machine code this machine's numba compiled from this file, as trusted as the bytecode
beside it; model files are still only ever read as safetensors and JSON.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from models.net.step import EPS, NumpyStep

if TYPE_CHECKING:
    from models.net.transformer import GPT, Block, KVCache

_KERNELS: list[str] = []
_REASSOCIATED: set[str] = set()  # kernels whose sums LLVM may reorder (to vectorise a dot product)
_INLINED: set[str] = set()  # kernels compiled into their callers


def _kernel(function: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a function to compile. numba is imported and the kernels wrapped only when they
    are compiled (:func:`compile_kernels`): importing numba costs a quarter of a second, which
    the engine's start does not wait for."""
    _KERNELS.append(function.__name__)
    return function


def _inlined_kernel(function: Callable[..., Any]) -> Callable[..., Any]:
    """A reassociated kernel inlined where it is called (numba's own inlining), so that its
    callers' loops are compiled as if they held its body."""
    _INLINED.add(function.__name__)
    return _reassociated_kernel(function)


def _reassociated_kernel(function: Callable[..., Any]) -> Callable[..., Any]:
    """A kernel compiled with its floating-point sums free to be reordered (``fastmath``'s
    ``reassoc`` only), so that LLVM vectorises a dot product along its length."""
    _REASSOCIATED.add(function.__name__)
    return _kernel(function)


@_kernel
def _pack(ids: np.ndarray, lengths: np.ndarray, start: np.ndarray, wte: np.ndarray) -> tuple:
    """The tokens read, packed in row order: their embeddings (N, C), rows and slots (N,)."""
    B, W = ids.shape
    N = 0
    for b in range(B):
        N += min(lengths[b], W)
    x = np.empty((N, wte.shape[1]), np.float32)
    rows = np.empty(N, np.int64)
    slots = np.empty(N, np.int64)
    n = 0
    for b in range(B):
        for j in range(min(lengths[b], W)):
            x[n] = wte[ids[b, j]]
            rows[n], slots[n] = b, start[b] + j
            n += 1
    return x, rows, slots


@_kernel
def _normalized(x: np.ndarray) -> np.ndarray:
    """Layer norm without gain and bias (folded into the next weights), row by row (N, C)."""
    N, C = x.shape
    out = np.empty_like(x)
    inv_c = np.float32(1.0 / C)
    for n in range(N):
        total = np.float32(0.0)
        for c in range(C):
            total += x[n, c]
        mean = total * inv_c
        square = np.float32(0.0)
        for c in range(C):
            centred = x[n, c] - mean
            out[n, c] = centred
            square += centred * centred
        scale = np.float32(math.sqrt(square * inv_c + np.float32(EPS)))
        for c in range(C):
            out[n, c] /= scale
    return out


def _widen(value: Any) -> np.float32:
    """A weight as float32: float16 bits (uint16) widened exactly, a float32 as it is. Compiled
    (:func:`compile_kernels`), the bits become LLVM's own half-to-float conversion, one vector
    instruction for many weights on CPUs that have it (x86's F16C)."""
    if isinstance(value, np.uint16):
        return np.float32(np.array([value]).view(np.float16)[0])
    return np.float32(value)


@_reassociated_kernel
def _add_product(a: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    """``out += a @ w.T``: a (N, K) float32; w (M, K) laid out as torch keeps a Linear's weight,
    float32 or the bits of float16 weights (uint16). Each output is a dot product along K, read
    in memory order, which streams the weights as the prefetcher likes. The tokens go in pairs:
    four weight rows at a time are widened to float32 (:func:`_widen`) once for all the pairs
    (widened as they are read where there is one pair, :func:`_add_pair`). A lone last token
    reads eight rows at a time (:func:`_add_lone`). Eight running sums every way, so every
    token's sums are the same code whatever else its pass reads (a test holds them to the
    bit)."""
    N, K = a.shape
    M = w.shape[0]
    pairs = N - N % 2
    if pairs == 2:
        _add_pair(a, w, out)
    rows = np.zeros((4, K), np.float32)
    for m in range(0, M if pairs > 2 else 0, 4):
        count = min(4, M - m)  # the last rows of a matrix whose rows are not a multiple of 4
        for r in range(count):
            for k in range(K):
                rows[r, k] = _widen(w[m + r, k])
        for n in range(0, pairs, 2):
            mine, its = _pair_sums(a[n], a[n + 1], rows, 0, 1, 2, 3)
            for r in range(count):
                out[n, m + r] += mine[r]
                out[n + 1, m + r] += its[r]
    if pairs < N:
        _add_lone(a[N - 1], w, out[N - 1])


@_reassociated_kernel
def _add_pair(a: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    """``out[:2] += a[:2] @ w.T``, four weight rows at a time, each weight widened as it is read
    and used for both tokens. The last rows of a matrix whose rows are not a multiple of 4
    repeat its last row."""
    M = w.shape[0]
    last = M - 1
    for m in range(0, M, 4):
        mine, its = _pair_sums(a[0], a[1], w, m, min(m + 1, last), min(m + 2, last), min(m + 3, last))
        for r in range(min(4, M - m)):
            out[0, m + r] += mine[r]
            out[1, m + r] += its[r]


@_inlined_kernel
def _pair_sums(x: np.ndarray, y: np.ndarray, w: np.ndarray, r0: int, r1: int, r2: int, r3: int) -> tuple:
    """The dot products of tokens ``x`` and ``y`` (K,) with the weight rows ``r0``..``r3`` of
    ``w``, each weight widened as it is read (a float32 buffer of widened rows passes as it
    is): eight running sums, ``((x.w0, .., x.w3), (y.w0, .., y.w3))``."""
    s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = np.float32(0.0)
    for k in range(x.shape[0]):
        u, v = x[k], y[k]
        w0, w1, w2, w3 = _widen(w[r0, k]), _widen(w[r1, k]), _widen(w[r2, k]), _widen(w[r3, k])
        s0 += u * w0
        s1 += u * w1
        s2 += u * w2
        s3 += u * w3
        t0 += v * w0
        t1 += v * w1
        t2 += v * w2
        t3 += v * w3
    return (s0, s1, s2, s3), (t0, t1, t2, t3)


@_reassociated_kernel
def _add_lone(x: np.ndarray, w: np.ndarray, out: np.ndarray) -> None:
    """``out += w @ x`` for one token x (K,): eight weight rows at a time, each weight widened
    as it is read (a lone token reads it once, so the pairs' copy of widened rows would only
    cost). The last rows of a matrix whose rows are not a multiple of 8 repeat its last row."""
    K = x.shape[0]
    M = w.shape[0]
    last = M - 1
    for m in range(0, M, 8):
        r0, r1, r2, r3 = m, min(m + 1, last), min(m + 2, last), min(m + 3, last)
        r4, r5, r6, r7 = min(m + 4, last), min(m + 5, last), min(m + 6, last), min(m + 7, last)
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = np.float32(0.0)
        for k in range(K):
            v = x[k]
            s0 += v * _widen(w[r0, k])
            s1 += v * _widen(w[r1, k])
            s2 += v * _widen(w[r2, k])
            s3 += v * _widen(w[r3, k])
            s4 += v * _widen(w[r4, k])
            s5 += v * _widen(w[r5, k])
            s6 += v * _widen(w[r6, k])
            s7 += v * _widen(w[r7, k])
        sums = (s0, s1, s2, s3, s4, s5, s6, s7)
        for r in range(min(8, M - m)):
            out[m + r] += sums[r]


@_kernel
def _norm_product(x: np.ndarray, norm: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``layer_norm(x) @ w.T`` (N, M): the norm as torch computes it (``norm``: its gain and
    bias, (2, C)), then the product (:func:`_add_product`)."""
    h = _normalized(x)
    for n in range(h.shape[0]):
        for c in range(h.shape[1]):
            h[n, c] = h[n, c] * norm[0, c] + norm[1, c]
    out = np.zeros((x.shape[0], w.shape[0]), np.float32)
    _add_product(h, w, out)
    return out


@_kernel
def _rope_and_store(qkv: np.ndarray, rows: np.ndarray, slots: np.ndarray, shift: int,
                    cos: np.ndarray, sin: np.ndarray, k_buf: np.ndarray, v_buf: np.ndarray,
                    k_by_dim: np.ndarray) -> None:
    """Rotate the queries (in place) and keys by each token's position, as
    :func:`models.net.transformer.apply_rope` does, and write keys and values into the cache
    (B, H, S, D) at each token's row and slot, the keys into ``k_by_dim`` (B, H, D, S) too."""
    H, D = k_buf.shape[1], k_buf.shape[3]
    C = H * D
    for n in range(qkv.shape[0]):
        row, slot = rows[n], slots[n]
        position = slot + shift
        for part in range(2):  # queries, then keys
            for h in range(H):
                base = part * C + h * D
                for i in range(0, D, 2):
                    c, s = cos[position, i // 2], sin[position, i // 2]
                    even, odd = qkv[n, base + i], qkv[n, base + i + 1]
                    qkv[n, base + i] = even * c - odd * s
                    qkv[n, base + i + 1] = odd * c + even * s
        for h in range(H):
            for i in range(D):
                key = qkv[n, C + h * D + i]
                k_buf[row, h, slot, i] = key
                k_by_dim[row, h, i, slot] = key
                v_buf[row, h, slot, i] = qkv[n, 2 * C + h * D + i]


@_kernel
def _scores(q: np.ndarray, keys_by_dim: np.ndarray, seen: int, out: np.ndarray) -> None:
    """``out[s] = q . keys[s]`` for the first ``seen`` slots, from the keys laid out (D, S):
    one pass over the slots per dimension (vectorised along the slots), so each sum still runs
    in order, as a compiled float sum must."""
    for s in range(seen):
        out[s] = np.float32(0.0)
    for i in range(q.shape[0]):
        qi, keys = q[i], keys_by_dim[i]
        for s in range(seen):
            out[s] += qi * keys[s]


# exp(x) = 2^n * exp(r), r = x - n ln 2 in [-ln 2 / 2, ln 2 / 2], ln 2 in two parts and exp(r) a
# polynomial (Cephes' expf, within about one ulp of float32): plain arithmetic, so the loop over
# a row's slots vectorises where a call to the C library's expf runs slot by slot.
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI, _LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)
_EXP_POLY = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                          4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_LOWEST = np.float32(-87.0)  # 2^n stays a normal float; exp(-87) is 1.6e-38, a weight of nothing


@_kernel
def _exp_parts(x: Any) -> tuple:
    """exp(x) for x <= 0 as two parts whose product it is: exp(r) (a float32) and the bits of
    2^n (an int32, viewed as float32 by the caller), n an integer and r in [-ln 2 / 2, ln 2 / 2].
    A value below :data:`_LOWEST` counts as it."""
    c0, c1, c2, c3, c4, c5 = _EXP_POLY
    x = max(x, _LOWEST)
    y = x * _LOG2E + np.float32(0.5)
    n = np.float32(np.int32(y))  # floor(y), which is at most 0.5: truncated, then one down
    n = n - np.float32(1.0) if n > y else n
    r = x - n * _LN2_HI - n * _LN2_LO
    p = ((((c0 * r + c1) * r + c2) * r + c3) * r + c4) * r + c5
    return p * r * r + r + np.float32(1.0), (np.int32(n) + np.int32(127)) << 23


@_kernel
def _softmax(weights: np.ndarray, seen: int, powers: np.ndarray) -> None:
    """``weights[:seen]`` -> their softmax, in place; ``powers`` is int32 scratch (S,) for the
    2^n factors, built from their bits. Four running maxima and sums side by side."""
    m0 = m1 = m2 = m3 = np.float32(-np.inf)
    whole = seen - seen % 4
    for s in range(0, whole, 4):
        m0, m1 = max(m0, weights[s]), max(m1, weights[s + 1])
        m2, m3 = max(m2, weights[s + 2]), max(m3, weights[s + 3])
    for s in range(whole, seen):
        m0 = max(m0, weights[s])
    top = max(max(m0, m1), max(m2, m3))
    for s in range(seen):
        weights[s], powers[s] = _exp_parts(weights[s] - top)
    scale = powers.view(np.float32)
    t0 = t1 = t2 = t3 = np.float32(0.0)
    for s in range(0, whole, 4):
        weights[s] *= scale[s]
        weights[s + 1] *= scale[s + 1]
        weights[s + 2] *= scale[s + 2]
        weights[s + 3] *= scale[s + 3]
        t0, t1, t2, t3 = t0 + weights[s], t1 + weights[s + 1], t2 + weights[s + 2], t3 + weights[s + 3]
    for s in range(whole, seen):
        weights[s] *= scale[s]
        t0 += weights[s]
    inverse = np.float32(1.0) / ((t0 + t1) + (t2 + t3))
    for s in range(seen):
        weights[s] *= inverse


@_kernel
def _add_weighted(p: np.ndarray, values: np.ndarray, seen: int, out: np.ndarray) -> None:
    """``out += p[:seen] @ values[:seen]``, four slots per pass over ``out`` (vectorised)."""
    D = out.shape[0]
    s = 0
    while s + 4 <= seen:
        p0, p1, p2, p3 = p[s], p[s + 1], p[s + 2], p[s + 3]
        v0, v1, v2, v3 = values[s], values[s + 1], values[s + 2], values[s + 3]
        for i in range(D):
            out[i] += (p0 * v0[i] + p1 * v1[i]) + (p2 * v2[i] + p3 * v3[i])
        s += 4
    while s < seen:
        for i in range(D):
            out[i] += p[s] * values[s, i]
        s += 1


@_kernel
def _attend(qkv: np.ndarray, rows: np.ndarray, slots: np.ndarray, k_by_dim: np.ndarray,
            v_buf: np.ndarray) -> np.ndarray:
    """Each token's attention output (N, C): its (prescaled) queries over its row's slots up to
    its own (keys (B, H, D, S)), softmax, the values' weighted sum; heads side by side."""
    H, D = k_by_dim.shape[1], k_by_dim.shape[2]
    N = qkv.shape[0]
    y = np.zeros((N, H * D), np.float32)
    weights = np.empty(k_by_dim.shape[3], np.float32)
    powers = np.empty(k_by_dim.shape[3], np.int32)
    for n in range(N):
        row, seen = rows[n], slots[n] + 1
        for h in range(H):
            _scores(qkv[n, h * D:(h + 1) * D], k_by_dim[row, h], seen, weights)
            _softmax(weights, seen, powers)
            _add_weighted(weights, v_buf[row, h], seen, y[n, h * D:(h + 1) * D])
    return y


@_kernel
def _causal_softmax(scores: np.ndarray, seen: np.ndarray) -> None:
    """Attention's weights from its scores (B, H, W, S), in place: query t of row b over its
    first ``seen[b, t]`` slots (:func:`_softmax`), the later ones 0."""
    B, H, W, S = scores.shape
    powers = np.empty(S, np.int32)
    for b in range(B):
        for h in range(H):
            for t in range(W):
                weights, count = scores[b, h, t], seen[b, t]
                _softmax(weights, count, powers)
                for s in range(count, S):
                    weights[s] = np.float32(0.0)


# erf(x) = 1 - t (a1 + a2 t + ... + a5 t^4) exp(-x^2), t = 1 / (1 + p |x|), odd in x (Abramowitz
# and Stegun 7.1.26, within 1.5e-7): the erf torch's vectorised CPU GELU computes. Plain
# arithmetic and :func:`_exp_parts`, so the loop over a row vectorises where the C library's
# erff runs element by element (a third of a one-token pass's time went there).
_ERF_P = np.float32(0.3275911)
_ERF_POLY = tuple(np.float32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592))


@_kernel
def _gelu(h: np.ndarray) -> None:
    """Exact (erf) GELU in place, as training used it, with erf to within 1.5e-7 (above)."""
    half_sqrt = np.float32(1.0 / math.sqrt(2.0))
    one, half = np.float32(1.0), np.float32(0.5)
    a5, a4, a3, a2, a1 = _ERF_POLY
    C = h.shape[1]
    parts = np.empty(C, np.float32)
    powers = np.empty(C, np.int32)
    for n in range(h.shape[0]):
        row = h[n]
        for c in range(C):
            x = row[c] * half_sqrt
            parts[c], powers[c] = _exp_parts(-(x * x))
        scale = powers.view(np.float32)
        for c in range(C):
            v = row[c]
            x = v * half_sqrt
            t = one / (_ERF_P * abs(x) + one)
            tail = ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * (parts[c] * scale[c])
            row[c] = v * half * (one + (one - tail if x >= np.float32(0.0) else tail - one))


@_kernel
def _layer(x: np.ndarray, rows: np.ndarray, slots: np.ndarray, shift: int, ln1: np.ndarray,
           qkv_w: np.ndarray, q_scale: float, proj: np.ndarray, ln2: np.ndarray, up: np.ndarray,
           down: np.ndarray, k_buf: np.ndarray, v_buf: np.ndarray, k_by_dim: np.ndarray,
           cos: np.ndarray, sin: np.ndarray) -> None:
    """One block on the packed tokens x (N, C), in place, on the model's own weights
    (:class:`OwnLayer`): attention (the queries scaled after their product), then the MLP."""
    C = x.shape[1]
    qkv = _norm_product(x, ln1, qkv_w)
    for n in range(qkv.shape[0]):
        for c in range(C):
            qkv[n, c] *= q_scale
    _rope_and_store(qkv, rows, slots, shift, cos, sin, k_buf, v_buf, k_by_dim)
    _add_product(_attend(qkv, rows, slots, k_by_dim, v_buf), proj, x)
    h = _norm_product(x, ln2, up)
    _gelu(h)
    _add_product(h, down, x)


@_kernel
def _draw(row: np.ndarray, allowed: np.ndarray, bias: np.ndarray, temperature: np.float32, top_p: float,
          noise: np.ndarray) -> int:
    """:meth:`models.decoding.decoding.Sampler.pick`'s draw in one call instead of a dozen numpy
    operations, the same arithmetic in the same order: the index into ``allowed`` (int64) of the
    id drawn from the logits ``row`` (V,) over temperature, plus ``bias`` (one per allowed id,
    or empty), within the nucleus ``top_p``, against the exponentials ``noise``."""
    n = allowed.shape[0]
    tempered = np.empty(n, np.float32)
    for i in range(n):
        tempered[i] = row[allowed[i]] / temperature
    if bias.shape[0] == n:
        for i in range(n):
            tempered[i] += bias[i]
    probs = np.exp(tempered - tempered.max())
    probs /= probs.sum()
    if top_p < 1.0:  # the nucleus: ids until the mass before them reaches top_p
        order = np.argsort(-probs, kind="mergesort")  # stable
        ranked = probs[order]
        before = np.cumsum(ranked) - ranked
        for i in range(n):
            if before[i] >= top_p:
                probs[order[i]] = np.float32(0.0)
    return int(np.argmax(probs / noise))


def compiled() -> bool:
    """Whether the kernels are compiled in this process (without starting anything)."""
    return _compiled.is_set()


def draw(row: np.ndarray, allowed: list[int], bias: list[float] | None, temperature: float, top_p: float,
         noise: np.ndarray) -> int:
    """:func:`_draw` on the sampler's arguments: the id drawn. Only once :func:`compiled`."""
    weights = _NO_BIAS if bias is None else np.asarray(bias, np.float32)
    return allowed[_draw(_float32(row), np.asarray(allowed, np.int64), weights, np.float32(temperature), top_p, noise)]


_NO_BIAS = np.empty(0, np.float32)


# A pass reading more tokens than this (all rows together) goes through the numpy step: its
# products and attention are BLAS calls, which outrun these loops once there are enough
# tokens to pay for the dispatch (measured: the fused step 1.05-1.15x the numpy step's speed
# at 8 and 9 tokens, 0.8x at 24).
MOST_TOKENS = 12


def _own(weight: torch.Tensor, half: bool) -> np.ndarray:
    """A weight as the model holds it (a Linear's (out, in)): float16 bits, or float32."""
    weight = weight.detach()
    return np.ascontiguousarray(weight.to(torch.float16).numpy().view(np.uint16) if half else weight.float().numpy())


def _norm(layer_norm: torch.nn.LayerNorm) -> np.ndarray:
    """A layer norm's gain and bias, (2, C)."""
    return np.stack([layer_norm.weight.detach().float().numpy(), layer_norm.bias.detach().float().numpy()])


def all_half(model: GPT) -> bool:
    """Whether every weight of the model is a float16 value (a checkpoint stored in float16,
    as the shipped one is): then the fused step reads float16 copies, exactly the same weights
    in half the bytes."""
    return all(p.dtype == torch.float32 and torch.equal(p.detach().to(torch.float16).float(), p.detach())
               for p in model.parameters())


class OwnLayer:
    """One block's weights as the model holds them: the four matrices (out, in), as float16 bits
    when ``half`` (half the bytes a pass streams through the caches, widened to float32 exactly
    as they are read), else float32; the norms' gains and biases apart, not folded into the
    matrices (folding would round float16 weights off float16)."""

    def __init__(self, block: Block, head_dim: int, half: bool) -> None:
        self.ln1, self.ln2 = _norm(block.ln1), _norm(block.ln2)
        self.qkv, self.proj = _own(block.attn.qkv.weight, half), _own(block.attn.proj.weight, half)
        self.up, self.down = _own(block.mlp.up.weight, half), _own(block.mlp.down.weight, half)
        self.q_scale = 1.0 / math.sqrt(head_dim)


class FusedStep(NumpyStep):
    """The numpy step's interface, its forward pass in compiled kernels on the model's own
    weights (:class:`OwnLayer`; float16 copies when :func:`all_half`); the numpy step's own for
    passes of more than :data:`MOST_TOKENS` tokens."""

    def __init__(self, model: GPT) -> None:
        compile_kernels()  # at once when ready() said so; raises ImportError without numba
        super().__init__(model)
        self.half = all_half(model)
        self.own = [OwnLayer(cast("Block", b), self.D, self.half) for b in model.blocks]
        self.ln_f, self.own_head = _norm(model.ln_f), _own(model.wte.weight, self.half)  # tied head (V, C)

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Hidden states (N, C) -> logits (N, V)."""
        if x.shape[0] > MOST_TOKENS:
            return super().logits(x)
        return _norm_product(_float32(x), self.ln_f, self.own_head)

    def hidden(self, ids: np.ndarray, lengths: np.ndarray | None, cache: KVCache,
               wanted: np.ndarray | None = None) -> np.ndarray:
        """As :meth:`NumpyStep.hidden`: read ``ids`` (B, T) into ``cache`` (every row all T
        tokens at the cache's position, or row b its first ``lengths[b]`` at its own) and
        return the hidden states of the tokens read, (N, C), packed in row order (of those
        ``wanted`` only, when given)."""
        B, W = ids.shape
        if (B * W if lengths is None else int(lengths.sum())) > MOST_TOKENS:
            return super().hidden(ids, lengths, cache, wanted)
        if lengths is None:
            start = np.full(B, cache.pos, np.int64)
            lengths = np.full(B, W, np.int64)
        else:
            assert cache.row_pos is not None
            start = cache.row_pos.numpy()
        end = int((start + lengths).max())
        cache.reserve(end, B, self.H, self.D)
        by_dim = keys_by_dim(cache)
        cos, sin = self._tables(end + cache.shift)
        x, rows, slots = _pack(_int64(ids), _int64(lengths), _int64(start), self.wte)
        for layer, w in enumerate(self.own):
            k_buf, v_buf = cache.arrays(layer)
            _layer(x, rows, slots, cache.shift, w.ln1, w.qkv, w.q_scale, w.proj, w.ln2, w.up, w.down,
                   k_buf, v_buf, by_dim[layer], cos, sin)
        return x if wanted is None else x[wanted]

    # A long pass (the context read before decoding) runs the numpy step's products on BLAS,
    # with two of the pieces between them in these kernels: RoPE and the cache writes in one
    # loop instead of gathers and scatters, and attention's softmax over each query's own slots
    # only (exp from the polynomial), not a masked square. (numpy's norms are faster than the
    # kernel's at this length: its sums vectorise.)

    def _keys_by_dim(self, cache: KVCache) -> list[np.ndarray]:
        return keys_by_dim(cache)  # made current now, as the next fused pass would

    def _angles(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._tables(int(positions.max()) + 1)

    def _rope_and_store(self, qkv: np.ndarray, rows: np.ndarray, slots: np.ndarray, shift: int,
                        angles: tuple[np.ndarray, np.ndarray], k_buf: np.ndarray, v_buf: np.ndarray,
                        by_dim: np.ndarray | None) -> np.ndarray:
        assert by_dim is not None  # :meth:`_keys_by_dim` keeps it current
        _rope_and_store(qkv, _int64(rows), _int64(slots), shift, *angles, k_buf, v_buf, by_dim)
        return qkv

    @staticmethod
    def _causal(q: np.ndarray, k: np.ndarray, v: np.ndarray, seen: np.ndarray | None) -> np.ndarray:
        B, _, W, _ = q.shape
        scores = q @ k.transpose(0, 1, 3, 2)  # (B, H, W, S)
        counts = np.full((B, W), k.shape[2], np.int64) if seen is None else np.broadcast_to(seen, (B, W))
        _causal_softmax(scores, _int64(counts))
        return scores @ v

    def _tables(self, need: int) -> tuple[np.ndarray, np.ndarray]:
        """cos and sin of each pair's angle per position (L, D/2): the numpy step's tables."""
        self._grow_tables(need)
        return self._cos, self._sin


def keys_by_dim(cache: KVCache) -> list[np.ndarray]:
    """Each layer's keys laid out (B, H, D, S), for attention vectorised along the slots. The
    fused and numpy steps write their keys into both layouts; after any other change (the
    torch step, a grown, dropped or reordered cache: ``cache.edits``) the copy is made again.
    Only the slots before the cache's position are copied: a pass writes every later slot it
    reads first (a fresh cache's copy costs only its allocation)."""
    laid_out = cache.current_keys_by_dim()
    if laid_out is None:
        held = cache.pos
        layouts = []
        for layer in range(cache.n_layer):
            keys = cache.arrays(layer)[0]
            B, H, S, D = keys.shape
            laid = np.zeros((B, H, D, S), np.float32)
            laid[..., :held] = keys[:, :, :held].transpose(0, 1, 3, 2)
            layouts.append(laid)
        cache.keys_by_dim = laid_out = layouts
        cache.keys_by_dim_edits = cache.edits
    return laid_out


def _int64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.int64)


def _float32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.float32)


_compiled = threading.Event()
_compiling: list[threading.Thread] = []
_start_lock, _compile_lock = threading.Lock(), threading.Lock()
_last_asked = [0.0]  # time.monotonic() of the latest ready() call
# The background compile waits for a pause this long in the decoding. Even from numba's
# cache, importing numba and loading the kernels takes about half a second of CPU, with
# stretches of about 0.1 s in which it holds the interpreter's lock (loading LLVM and the
# compiled code): started between two requests, or between two notes played into
# `dawbridge ports`, it would hold up the next answer. A process that decodes without such a
# pause keeps the numpy step.
IDLE_S = 1.0


def available() -> bool:
    """Whether numba is installed (the ``fast`` extra), without importing it. Asked every
    pass, so the search of the import path (about 50 us) is made once."""
    if "numba" in sys.modules:
        return sys.modules["numba"] is not None
    if not _installed:
        _installed.append(importlib.util.find_spec("numba") is not None)
    return _installed[0]


_installed: list[bool] = []


def ready() -> bool:
    """Whether the kernels are compiled in this process; without numba, never. The first call
    starts a background thread that compiles them (or loads them from numba's cache) once the
    decoding pauses, so the caller goes on serving from the numpy step meanwhile."""
    if not available():
        return False
    if _compiled.is_set():
        return True
    _last_asked[0] = time.monotonic()
    if _compiling:
        return False
    with _start_lock:
        if not _compiling:
            thread = threading.Thread(target=_compile_when_idle, name="fused-step-compile", daemon=True)
            _compiling.append(thread)
            thread.start()
    return False


def compile_kernels() -> None:
    """Wrap the kernels with numba and compile them for the argument types serving passes (or
    load them from numba's cache) by running a layer on a toy model; then :func:`ready` says
    so. Raises ImportError without numba."""
    with _compile_lock:
        if _compiled.is_set():
            return
        import numba

        module = sys.modules[__name__]
        _compile_widen()
        for name in _KERNELS:
            function = getattr(module, name)
            if not isinstance(function, numba.core.registry.CPUDispatcher):
                fastmath = {"reassoc"} if name in _REASSOCIATED else False
                compile_ = numba.njit(cache=True, fastmath=fastmath, nogil=True, error_model="numpy",
                                      inline="always" if name in _INLINED else "never")
                setattr(module, name, compile_(function))
        _run_on_a_toy_model()
        _compiled.set()


def _compile_widen() -> None:
    """:func:`_widen` for the kernels: float16 bits taken as a half and extended to float by
    LLVM (an intrinsic: numba has no float16 on the CPU), a float32 weight as it is."""
    from llvmlite import ir
    from numba import types
    from numba.core.extending import intrinsic, overload

    @intrinsic  # type: ignore[misc]
    def half_bits_to_float(typingctx: Any, bits: Any) -> Any:
        def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
            return builder.fpext(builder.bitcast(args[0], ir.HalfType()), ir.FloatType())

        return types.float32(types.uint16), codegen

    def from_bits(value: Any) -> Any:  # numba matches these signatures, annotations included
        return half_bits_to_float(value)  # type: ignore[call-arg]

    def as_it_is(value: Any) -> Any:
        return value

    @overload(_widen)  # type: ignore[misc]
    def widen(value: Any) -> Any:
        return from_bits if value == types.uint16 else as_it_is if value == types.float32 else None


def _run_on_a_toy_model() -> None:
    """Every kernel once, with arrays of the dtypes, dimensions and layouts serving passes: the
    weights in float32 and as float16 bits."""
    C, H, V, rows, width = 8, 2, 5, 2, 2
    D = C // H
    rng = np.random.default_rng(0)

    def weights(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    ids = np.ones((rows, width), np.int64)
    lengths, start = np.array([2, 1], np.int64), np.array([0, 1], np.int64)
    x, packed_rows, slots = _pack(ids, lengths, start, weights(V, C))
    k_buf, v_buf = np.zeros((rows, H, 8, D), np.float32), np.zeros((rows, H, 8, D), np.float32)
    k_by_dim = np.zeros((rows, H, D, 8), np.float32)
    for own in (weights, lambda *shape: weights(*shape).astype(np.float16).view(np.uint16)):
        _layer(x, packed_rows, slots, 0, weights(2, C), own(3 * C, C), 0.5, own(C, C), weights(2, C),
               own(4 * C, C), own(C, 4 * C), k_buf, v_buf, k_by_dim, weights(8, D // 2), weights(8, D // 2))
        _norm_product(x, weights(2, C), own(V, C))
    _causal_softmax(weights(rows, H, width, 8), np.full((rows, width), 3, np.int64))
    _normalized(x)
    _rope_and_store(weights(3, 3 * C), packed_rows, slots, 0, weights(8, D // 2), weights(8, D // 2),
                    k_buf, v_buf, k_by_dim)
    for bias in (None, [0.5, -0.5]):
        draw(weights(V), [1, 3], bias, 1.0, 0.95, weights(2) ** 2)


def _compile_when_idle() -> None:
    """:func:`compile_kernels` on the background thread, at the first pause of ``IDLE_S`` in
    the decoding: should compiling fail, the numpy step goes on serving (it is the same
    forward pass)."""
    while (wait := _last_asked[0] + IDLE_S - time.monotonic()) > 0:
        time.sleep(wait)
    try:
        compile_kernels()
    except Exception:  # any failure leaves the numpy step serving
        pass

