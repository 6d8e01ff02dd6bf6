"""The decoder-only Transformer: RoPE attention through PyTorch SDPA, a KV cache for decoding.

nanoGPT-sized and read top to bottom, smallest block first. ``GPTConfig`` is the only
constructor argument and travels with the weights (models/net/checkpoint.py). Rotary position
embeddings make attention depend on relative positions only, so the decoder can drop old cache
entries and keep going past the trained context length.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.net import fused_step
from models.net.cuda_graphs import GraphedPasses
from models.net.step import NumpyStep, packed_indices

LEADS_KEPT = 8  # leads whose keys and values a model keeps (GPT.read_lead): ~1 MB each at 190 tokens
SHARED_AT_LEAST = 16  # tokens a lead must share with a kept one for their keys and values to be copied
_LEADS_LOCK = threading.Lock()
_PINNED = threading.local()  # .steps: id(model) -> the step this thread's decode runs on (GPT.pinned)


@dataclass
class GPTConfig:
    vocab_size: int = 512
    block_size: int = 1024  # longest context trained on
    n_layer: int = 6
    n_head: int = 8
    n_embd: int = 256
    dropout: float = 0.0
    rope_base: float = 10000.0


class KVCache:
    """Keys and values of every layer for a batch of sequences, preallocated to ``capacity``."""

    def __init__(self, n_layer: int, capacity: int = 0) -> None:
        self.n_layer, self.capacity = n_layer, capacity
        self.k: list[torch.Tensor | None] = [None] * n_layer
        self.v: list[torch.Tensor | None] = [None] * n_layer
        self.pos = 0  # position of the next token; with ragged rows, the longest row's
        # Ragged rows (GPT.forward_rows): each row's own length; its keys and values fill slots
        # [0, length), later slots hold padding. None while all rows have the same length.
        # On the CPU whatever device the keys are on: bookkeeping the host reads every pass
        # (the longest and shortest row, a guess's slots given back), which on a GPU would
        # otherwise wait for the device each time.
        self.row_pos: torch.Tensor | None = None  # (B,) long
        # Slots dropped so far (:meth:`drop`): slot s holds the token at RoPE position s + shift.
        self.shift = 0
        # Changes to the keys other than the fused step's own writes (which update both
        # layouts): the fused step's copy of the keys laid out (B, H, D, S), ``keys_by_dim``, is
        # valid while ``keys_by_dim_edits`` equals this count (models/net/fused_step.py).
        self.edits = 0
        self.keys_by_dim: list[np.ndarray] | None = None
        self.keys_by_dim_edits = -1
        self._views: dict[int, tuple[torch.Tensor, torch.Tensor, np.ndarray, np.ndarray]] = {}  # arrays()

    def current_keys_by_dim(self) -> list[np.ndarray] | None:
        """The fused step's copy of the keys laid out by dimension while it is current (no
        change to the keys since it was made or last written alongside them), else None."""
        return self.keys_by_dim if self.keys_by_dim_edits == self.edits else None

    def length(self) -> int:
        """Positions held (the longest row's, with ragged rows)."""
        return self.pos

    def select(self, index: torch.Tensor) -> None:
        """Keep only the batch rows in ``index`` (reorders too; on the CPU, as the decoder
        builds it); every row in order changes nothing. The fused step's keys laid out by
        dimension are selected alike where current."""
        index = index.cpu()
        rows = self.rows()
        if index.numel() == rows and bool((index == torch.arange(rows)).all()):
            return
        by_dim = self.current_keys_by_dim()
        self.edits += 1
        self._views.clear()
        on = index if self.k[0] is None else index.to(self.k[0].device)
        for i in range(self.n_layer):
            if self.k[i] is not None:
                self.k[i] = self.k[i].index_select(0, on)  # type: ignore[union-attr]
                self.v[i] = self.v[i].index_select(0, on)  # type: ignore[union-attr]
        if self.row_pos is not None:
            self.row_pos = self.row_pos.index_select(0, index)
        if by_dim is not None:
            chosen = index.numpy()
            self.keys_by_dim = [keys[chosen] for keys in by_dim]
            self.keys_by_dim_edits = self.edits

    def make_ragged(self, rows: int) -> None:
        """Start keeping a length per row (all rows have read the same tokens so far)."""
        if self.row_pos is None:
            self.row_pos = torch.full((rows,), self.pos, dtype=torch.long)

    def rows(self) -> int:
        """Batch rows held (0 before anything is written)."""
        k = self.k[0]
        return 0 if k is None else k.shape[0]

    def reserve(self, end: int, rows: int, heads: int, head_dim: int, dtype: torch.dtype = torch.float32,
                device: torch.device | None = None) -> None:
        """Make every layer's buffers hold at least ``end`` slots for ``rows`` rows."""
        k = self.k[0]
        if k is not None and end <= k.shape[2]:
            return
        self.edits += 1
        self._move(max(self.capacity, 2 * end, 64), rows, heads, head_dim, dtype, device)

    def _move(self, size: int, rows: int, heads: int, head_dim: int, dtype: torch.dtype,
              device: torch.device | None) -> None:
        """New buffers of ``size`` slots for every layer, holding the slots ``[0, pos)`` of the
        ones held now."""
        n = self.pos  # every layer is written before the position moves on
        self._views.clear()
        for layer in range(self.n_layer):
            # zeros: ragged rows mask the slots they never wrote, and 0 * garbage may be NaN
            new_k = torch.zeros(rows, heads, size, head_dim, dtype=dtype, device=device)
            new_v = torch.zeros_like(new_k)
            old_k, old_v = self.k[layer], self.v[layer]
            if old_k is not None and old_v is not None and n:
                new_k[:, :, :n] = old_k[:, :, :n]
                new_v[:, :, :n] = old_v[:, :, :n]
            self.k[layer], self.v[layer] = new_k, new_v

    def copy(self, capacity: int, length: int | None = None) -> KVCache:
        """A new cache holding this one's slots ``[0, pos)`` of every row (``[0, length)`` when
        given: the first ``length`` tokens every row read), room for ``capacity``."""
        twin = KVCache(self.n_layer, capacity)
        twin.pos, twin.shift = self.pos if length is None else length, self.shift
        twin.row_pos = None if self.row_pos is None else self.row_pos.clone()
        if length is not None and twin.row_pos is not None:
            if bool((twin.row_pos < length).any()):
                raise ValueError(f"cannot copy {length} slots: a row holds only {int(twin.row_pos.min())}")
            twin.row_pos.fill_(length)
        k = self.k[0]
        if k is not None:
            twin.k, twin.v = list(self.k), list(self.v)  # read by the move, never written
            B, H, _, D = k.shape
            twin._move(max(capacity, twin.pos), B, H, D, k.dtype, k.device)
        return twin

    def arrays(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """A layer's key and value buffers as numpy arrays sharing their memory (CPU only)."""
        k, v = self.k[layer], self.v[layer]
        assert k is not None and v is not None
        views = self._views.get(layer)
        if views is None or views[0] is not k or views[1] is not v:  # buffers replaced since
            views = self._views[layer] = (k, v, k.numpy(), v.numpy())
        return views[2], views[3]

    def drop(self, start: int, count: int, rotation: torch.Tensor) -> None:
        """Forget slots ``start .. start + count`` of every row; later slots move down. The keys
        before ``start`` are rotated by ``rotation`` (RoPE over ``count`` positions, (D, D)) and
        ``shift`` grows by ``count``: every slot then sits ``shift`` positions before its RoPE
        position, so attention sees the slots kept as one contiguous sequence."""
        if count <= 0:
            return
        first = self.pos if self.row_pos is None else int(self.row_pos.min())
        if start + count > first:
            raise ValueError(f"cannot drop slots {start}..{start + count}: a row holds only {first}")
        self.edits += 1
        for layer in range(self.n_layer):
            k, v = self.k[layer], self.v[layer]
            if k is None or v is None:
                continue
            k[:, :, start:self.pos - count] = k[:, :, start + count:self.pos].clone()
            v[:, :, start:self.pos - count] = v[:, :, start + count:self.pos].clone()
            k[:, :, :start] = k[:, :, :start] @ rotation.to(k.dtype)
        self.pos -= count
        if self.row_pos is not None:
            self.row_pos -= count
        self.shift += count

    def forget(self, counts: dict[int, int]) -> None:
        """Forget the last ``counts[row]`` slots of each row given (tokens read on a guess that
        did not hold): the row goes on from before them, and the slots are written over."""
        if not counts:
            return
        self.make_ragged(self.rows())
        assert self.row_pos is not None
        # through numpy's view of the same numbers (a torch operation on one element costs
        # several microseconds)
        ends = self.row_pos.numpy()
        for row, count in counts.items():
            ends[row] -= count
        self.pos = int(ends.max())

    def write(self, layer: int, k: torch.Tensor, v: torch.Tensor, end: int,
              where: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Store a layer's new keys and values and return its slots ``[0, end)`` (B, H, end, D).
        ``where`` None: k and v are (B, T, H, D) for slots ``end - T .. end`` of every row;
        else (rows, slots) of each of the N packed tokens, k and v (N, H, D)."""
        H, D = k.shape[-2:]
        self.edits += 1
        B = k.shape[0] if where is None or self.row_pos is None else self.row_pos.shape[0]
        self.reserve(end, B, H, D, k.dtype, k.device)
        buf_k, buf_v = self.k[layer], self.v[layer]
        assert buf_k is not None and buf_v is not None
        if where is None:
            T = k.shape[1]
            buf_k[:, :, end - T:end] = k.transpose(1, 2)
            buf_v[:, :, end - T:end] = v.transpose(1, 2)
        else:
            buf_k[where[0], :, where[1]] = k
            buf_v[where[0], :, where[1]] = v
        return buf_k[:, :, :end], buf_v[:, :, :end]


def _longest_shared(lead: list[int], kept: list[tuple[tuple[int, ...], KVCache]]) -> tuple[int, KVCache | None]:
    """The kept lead's cache that starts as ``lead`` does for the most tokens, and how many; (0,
    None) below ``SHARED_AT_LEAST``. At least the last token of ``lead`` is left to read (its
    logits are wanted)."""
    best, base = 0, None
    for tokens, cache in kept:
        n, most = 0, min(len(tokens), len(lead) - 1)
        while n < most and tokens[n] == lead[n]:
            n += 1
        if n > best:
            best, base = n, cache
    return (best, base) if best >= SHARED_AT_LEAST else (0, None)


def rope_tables(head_dim: int, positions: torch.Tensor, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, device=positions.device).float() / head_dim))
    angles = positions.float()[:, None] * inv[None, :]  # (T, D/2)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    x1, x2 = x[..., 0::2], x[..., 1::2]  # (B, H, T, D/2)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.n_head = config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=False)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        # No attention dropout: it forces the unfused path (materialized T x T weights),
        # several times slower on CPU; the MLP and embeddings carry the dropout.
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # (B, T, C)
        return self.proj(y)


class MLP(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.up = nn.Linear(config.n_embd, 4 * config.n_embd, bias=False)
        self.down = nn.Linear(4 * config.n_embd, config.n_embd, bias=False)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.down(F.gelu(self.up(x))))


class Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cos, sin)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    # How cached inference runs: "fused" (models/net/fused_step.py: on CPU in float32 once numba
    # has compiled it in the background, the numpy step until then and without numba),
    # "numpy" (models/net/step.py, on CPU in float32; elsewhere torch) or "torch" (the tensor
    # path below, on every device).
    decode_path = "fused"
    # On CUDA, replay decoding passes as CUDA graphs (models/net/cuda_graphs.py): set by
    # models/composer.load where DAWBRIDGE_CUDA_GRAPHS=1 (not yet measured on a GPU).
    cuda_graphs = False

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.head.weight = self.wte.weight  # weight tying
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("proj.weight") or name.endswith("down.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """Token ids (B, T) -> logits (B, T, V). With a cache (inference), positions continue
        from it."""
        if cache is not None:
            if cache.row_pos is not None:
                raise ValueError("this cache holds ragged rows: feed it through forward_rows")
            with torch.inference_mode():
                return self._head(*self._cached(idx, None, cache)).view(*idx.shape, -1)
        T = idx.shape[1]
        cos, sin = self._rope(T, idx.device)
        x = self.drop(self.wte(idx))  # (B, T, C)
        for block in self.blocks:
            x = block(x, cos[:T], sin[:T])
        return self.head(self.ln_f(x))  # (B, T, V)

    @torch.inference_mode()
    def forward_rows(self, idx: torch.Tensor, lengths: torch.Tensor, cache: KVCache,
                     at: np.ndarray | None = None) -> torch.Tensor:
        """Each row reads its own number of tokens: row ``b`` the first ``lengths[b]`` of
        ``idx[b]`` (0 allowed), the rest is padding. Returns each row's logits after its last
        token (B, V); a row that read nothing gets meaningless logits. ``at``: the logits after
        these tokens instead, as indices into the tokens read packed in row order (row 0's
        ``lengths[0]``, then row 1's, ...), (len(at), V).

        Once rows have read different numbers of tokens the cache keeps each row's own length
        (its RoPE position and where its next keys go); padding is written past it and masked,
        so a row decodes as it would alone (up to float rounding)."""
        B, T = idx.shape
        lengths = lengths.cpu()  # bookkeeping, as the cache's row lengths are (the decoder's are)
        picks = np.maximum(np.cumsum(lengths.numpy()) - 1, 0) if at is None else at
        step = self._serving_step()
        if step is not None:
            return self._step_rows(step, idx.numpy(), lengths.numpy(), cache, picks)
        graphs = self._graphed()
        if graphs is not None and graphs.takes(B, T, cache):
            logits = graphs.run(idx, lengths, cache, picks)
            if logits is not None:
                return logits
        if cache.row_pos is None and bool((lengths == T).all()):
            x, _ = self._cached(idx, None, cache)
        else:
            cache.make_ragged(B)
            x, _ = self._cached(idx, lengths, cache)
        return self._head(x[torch.from_numpy(picks).to(idx.device)], None)

    def _step_rows(self, step: NumpyStep, ids: np.ndarray, lengths: np.ndarray, cache: KVCache,
                   picks: np.ndarray) -> torch.Tensor:
        """:meth:`forward_rows` on the CPU step (numpy or fused), its bookkeeping in numpy too."""
        B, T = ids.shape
        if cache.row_pos is None and bool((lengths == T).all()):
            x = step.hidden(ids, None, cache, picks)
            cache.pos += T
            return torch.from_numpy(step.logits(x))
        cache.make_ragged(B)
        assert cache.row_pos is not None
        x = step.hidden(ids, lengths, cache, picks)
        ends = cache.row_pos.numpy()  # the cache's own tensor
        ends += lengths
        cache.pos = int(ends.max())
        return torch.from_numpy(step.logits(x))

    def _head(self, x: torch.Tensor, step: NumpyStep | None) -> torch.Tensor:
        """Hidden states -> logits, on the step that computed them."""
        if step is not None:
            return torch.from_numpy(step.logits(x.numpy()))
        return F.linear(F.layer_norm(x, (self.config.n_embd,), self.ln_f.weight, self.ln_f.bias), self.wte.weight)

    def _cached(self, idx: torch.Tensor, lengths: torch.Tensor | None,
                cache: KVCache) -> tuple[torch.Tensor, NumpyStep | None]:
        """The blocks for inference with a cache -> hidden states of the tokens read, (N, C)
        (and the numpy step that computed them, None on the torch path):
        all B*T of them in row order when ``lengths`` is None (every row at the same position),
        else row b's first ``lengths[b]``, packed in row order.

        The same computation as ``forward`` in as few tensor operations as the arithmetic
        allows: decoding runs one small step per token, where each operation's dispatch costs
        more than its arithmetic. Tokens are packed to 2-D (padding never reaches a matmul),
        the residual additions ride in ``addmm``, and RoPE is one (D, D) rotation per position
        applied to a layer's queries and keys together. Only attention sees the (B, T) layout."""
        B, T = idx.shape
        step = self._serving_step()
        if step is not None:
            x = torch.from_numpy(step.hidden(idx.numpy(), None if lengths is None else lengths.numpy(), cache))
            self._advance(cache, T, lengths)
            return x, step
        C, H = self.config.n_embd, self.config.n_head
        D = C // H
        device = idx.device
        if lengths is None:
            positions = (cache.pos + torch.arange(T, device=device)).expand(B, T)
            end = cache.pos + T
            real = where = None
            ids = idx.reshape(B * T)
        else:  # the packing worked out on the host, where the rows' lengths are: one copy over
            assert cache.row_pos is not None
            start = cache.row_pos.numpy()
            at_row = start[:, None] + np.arange(T)  # (B, T)
            real_np = packed_indices(lengths.numpy(), T)
            end = int(start.max()) + T
            n = len(real_np)
            packing = torch.from_numpy(np.concatenate([at_row.reshape(B * T), real_np, real_np // T,
                                                       at_row.reshape(B * T)[real_np]])).to(device)
            positions = packing[:B * T].view(B, T)
            real = packing[B * T:B * T + n]
            where = (packing[B * T + n:B * T + 2 * n], packing[B * T + 2 * n:])  # each token's row and slot
            ids = idx.reshape(B * T)[real]
        slots = positions.reshape(B * T) if where is None else where[1]
        rotation = self._rotations(end + cache.shift, device)[slots + cache.shift]  # (N, D, D)
        # query t of row b sees its row's slots up to its own; a padded query also sees
        # padding (its output is never read)
        mask = None if T == 1 and lengths is None else (
            torch.arange(end, device=device) <= positions[:, :, None]).unsqueeze(1)  # (B, 1, T, end)

        def attend(layer: int, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
            if where is None:
                k, v = k.view(B, T, H, D), v.view(B, T, H, D)
            k, v = cache.write(layer, k, v, end, where)  # (B, H, end, D)
            q = q.view(B, T, H, D) if real is None else q.new_zeros(B * T, H, D).index_copy_(0, real, q).view(B, T, H, D)
            y = F.scaled_dot_product_attention(q.transpose(1, 2), k, v, attn_mask=mask)  # (B, H, T, D)
            y = y.transpose(1, 2).reshape(B * T, C)
            return y if real is None else y[real]

        x = self._blocks(F.embedding(ids, self.wte.weight), rotation, attend)
        self._advance(cache, T, lengths)
        return x, None

    def _blocks(self, x: torch.Tensor, rotation: torch.Tensor,
                attend: Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """The blocks over packed tokens ``x`` (N, C), RoPE's ``rotation`` (N, D, D) per token:
        ``attend(layer, q, k, v)`` (each (N, H, D), queries and keys rotated) stores the keys
        and values and returns the attention's output (N, C)."""
        C, H = self.config.n_embd, self.config.n_head
        N, D = x.shape[0], C // H
        for layer, (ln1, qkv_t, proj_t, ln2, up_t, down_t) in enumerate(self._inference_weights()):
            h = F.layer_norm(x, (C,), *ln1)
            qkv = torch.mm(h, qkv_t).view(N, 3 * H, D)
            qk = torch.bmm(qkv[:, :2 * H], rotation)  # (N, 2H, D)
            x = torch.addmm(x, attend(layer, qk[:, :H], qk[:, H:], qkv[:, 2 * H:]), proj_t)
            h = F.layer_norm(x, (C,), *ln2)
            x = torch.addmm(x, F.gelu(torch.mm(h, up_t)), down_t)
        return x

    @staticmethod
    def _advance(cache: KVCache, T: int, lengths: torch.Tensor | None) -> None:
        """Move the cache's positions past the tokens just read."""
        if lengths is None:
            cache.pos += T
        else:
            assert cache.row_pos is not None
            cache.row_pos += lengths  # both on the CPU
            cache.pos = int(cache.row_pos.max())

    @torch.inference_mode()
    def roll(self, cache: KVCache, keep: int, count: int) -> None:
        """Make room in a full cache without reading anything again: forget ``count`` slots
        after the first ``keep`` (the header) of every row. The slots kept keep their keys and
        values; attention sees the header right before them (:meth:`KVCache.drop`)."""
        if count > 0:
            cache.drop(keep, count, self._rotations(count + 1, next(self.parameters()).device)[count])

    def read_lead(self, lead: list[int], capacity: int) -> tuple[KVCache, torch.Tensor]:
        """A cache with room for ``capacity`` slots that has read ``lead`` as one row, and the
        logits after its last token (1, V). The model keeps the keys and values of the last
        ``LEADS_KEPT`` leads it read with these weights on this path. A lead read again (Fill
        or Vary pressed again on the same clip) is copied from them: the same numbers, without
        the forward pass over every token of the context. A lead that starts as a kept one
        does for at least ``SHARED_AT_LEAST`` tokens (the same clip edited after that point,
        a fill of its last beats after one of its last bar, a Vary before it) copies those
        tokens' keys and values and reads only the rest: the same numbers up to float
        rounding (the rest is read as a pass of its own)."""
        key = self._weights_key()
        entry = (key, tuple(lead))
        with _LEADS_LOCK:
            kept: OrderedDict[tuple, tuple[KVCache, torch.Tensor]] | None = getattr(self, "_leads", None)
            if kept is None:
                kept = OrderedDict()
                self._leads = kept
            hit = kept.get(entry)
            if hit is not None:
                kept.move_to_end(entry)
                return hit[0].copy(capacity), hit[1].clone()
            shared, base = _longest_shared(lead, [(tokens, held[0]) for (k, tokens), held in kept.items() if k == key])
            cache = base.copy(capacity, shared) if base is not None else KVCache(self.config.n_layer, capacity)
        device = self.wte.weight.device
        rest = lead[shared:]
        logits = self.forward_rows(torch.tensor([rest], device=device), torch.tensor([len(rest)]), cache)
        if cache.shift == 0 and cache.pos == len(lead):  # read whole, never rolled
            with _LEADS_LOCK:
                kept[entry] = (cache.copy(len(lead)), logits.clone())
                while len(kept) > LEADS_KEPT:
                    kept.popitem(last=False)
        return cache, logits

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Within this block, the calling thread's passes run on the step chosen on entering
        it: the weights' versions are read once for a whole decode, not at every pass (about
        10 us each). A decode never changes the weights; code that does so
        in place must do it outside the block."""
        steps: dict[int, tuple] = _PINNED.__dict__.setdefault("steps", {})
        if id(self) in steps:  # nested: the outer block's choice holds
            yield
            return
        step = self._chosen_step()
        steps[id(self)] = (step, self._key_for(step))
        try:
            yield
        finally:
            del steps[id(self)]

    def _pin(self) -> tuple | None:
        """(step, weights key) pinned by this thread's :meth:`pinned` block, or None."""
        steps: dict[int, tuple] | None = getattr(_PINNED, "steps", None)
        return None if not steps else steps.get(id(self))

    def _weights_key(self) -> tuple:
        """What the numbers of a forward pass depend on besides its tokens: the path that runs
        it, where the weights live and their versions."""
        pin = self._pin()
        return self._key_for(self._serving_step()) if pin is None else pin[1]

    def _key_for(self, step: NumpyStep | None) -> tuple:
        weight = self.wte.weight
        return (self.decode_path, None if step is None else type(step), weight.device, weight.dtype,
                *self._versions())

    def _versions(self) -> tuple[int, ...]:
        """The weights' storage and in-place versions: a change to any weight changes them."""
        params: list[nn.Parameter] | None = getattr(self, "_params", None)
        if params is None:
            params = list(self.parameters())
            self._params = params
        return (self.wte.weight.data_ptr(), *(p._version for p in params))

    def _serving_step(self) -> NumpyStep | None:
        """The CPU decode step this model serves from: on CPU in float32 with ``decode_path``
        "fused" or "numpy". "fused" is the compiled step (models/net/fused_step.py) once its
        kernels are ready in this process, the numpy step (models/net/step.py) before that
        and without numba. Rebuilt when the weights change in place; inside a
        :meth:`pinned` block, the step chosen on entering it."""
        pin = self._pin()
        return self._chosen_step() if pin is None else pin[0]

    def _serving_step_kind(self) -> type[NumpyStep] | None:
        """The kind of CPU step passes run on now (:meth:`_chosen_step`), without building it:
        None on the torch path."""
        weight = self.wte.weight
        path = self.decode_path
        if path not in ("fused", "numpy") or weight.device.type != "cpu" or weight.dtype != torch.float32:
            return None
        return fused_step.FusedStep if path == "fused" and fused_step.ready() else NumpyStep

    def _chosen_step(self) -> NumpyStep | None:
        """:meth:`_serving_step` as the weights and the path stand now."""
        kind = self._serving_step_kind()
        if kind is None:
            return None
        cached = getattr(self, "_step_cache", None)
        key = (kind, *self._versions())
        if cached is None or cached[0] != key:
            cached = (key, kind(self))
            self._step_cache = cached
        return cached[1]

    def _graphed(self) -> GraphedPasses | None:
        """The graphs this model's decoding passes replay, where they are on (:attr:`cuda_graphs`
        and the weights on CUDA); made again when the weights change."""
        if not self.cuda_graphs or self.wte.weight.device.type != "cuda":
            return None
        cached: GraphedPasses | None = getattr(self, "_graphs", None)
        if cached is None or cached.key != self._weights_key():
            cached = GraphedPasses(self)
            self._graphs = cached
        return cached

    def _inference_weights(self) -> list[tuple]:
        """Per layer: the layer norms' (weight, bias) and the linear weights transposed (views)."""
        cached = getattr(self, "_weights_cache", None)
        if cached is None:
            cached = [((b.ln1.weight, b.ln1.bias), b.attn.qkv.weight.t(), b.attn.proj.weight.t(),
                       (b.ln2.weight, b.ln2.bias), b.mlp.up.weight.t(), b.mlp.down.weight.t())
                      for b in cast(list[Block], list(self.blocks))]
            self._weights_cache = cached
        return cached

    def _rotations(self, length: int, device: torch.device) -> torch.Tensor:
        """RoPE as one block-diagonal (D, D) matrix per position (L, D, D): ``x @ R[p]``
        rotates each pair (x[2i], x[2i+1]) exactly as :func:`apply_rope` does at position p,
        in the weights' dtype (bfloat16 on a GPU: the angles are computed in float32)."""
        cached = getattr(self, "_rotation_cache", None)
        dtype = self.wte.weight.dtype
        if cached is None or cached.shape[0] < length or cached.device != device or cached.dtype != dtype:
            cos, sin = (t.to(dtype) for t in self._rope(length, device))
            L, half = cos.shape
            D = 2 * half
            cached = torch.zeros(L, D, D, device=device, dtype=dtype)
            even, odd = torch.arange(0, D, 2, device=device), torch.arange(1, D, 2, device=device)
            cached[:, even, even], cached[:, odd, odd] = cos, cos
            cached[:, even, odd], cached[:, odd, even] = sin, -sin
            self._rotation_cache = cached
        return cached

    def _rope(self, length: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        cached = getattr(self, "_rope_cache", None)
        if cached is None or cached[0].shape[0] < length or cached[0].device != device:
            size = max(length, 2 * self.config.block_size)
            positions = torch.arange(size, device=device)
            cached = rope_tables(self.config.n_embd // self.config.n_head, positions, self.config.rope_base)
            self._rope_cache = cached
        return cached

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters()) - self.wte.weight.numel()
