"""The decoder-only Transformer: RoPE attention through PyTorch SDPA, a KV cache for decoding.

nanoGPT-sized and read top to bottom, smallest block first. ``GPTConfig`` is the only
constructor argument and travels with the weights (models/checkpoint.py). Rotary position
embeddings make attention depend on relative positions only, so the decoder can drop old cache
entries and keep going past the trained context length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


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
        self.used = [0] * n_layer
        self.pos = 0  # absolute position of the next token

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, H, T, D = k.shape
        n = self.used[layer]
        buf_k, buf_v = self.k[layer], self.v[layer]
        if buf_k is None or buf_v is None or n + T > buf_k.shape[2]:
            size = max(self.capacity, 2 * (n + T), 64)
            new_k = k.new_empty(B, H, size, D)
            new_v = v.new_empty(B, H, size, D)
            if buf_k is not None and buf_v is not None and n:
                new_k[:, :, :n] = buf_k[:, :, :n]
                new_v[:, :, :n] = buf_v[:, :, :n]
            self.k[layer], self.v[layer] = buf_k, buf_v = new_k, new_v
        buf_k[:, :, n:n + T] = k
        buf_v[:, :, n:n + T] = v
        self.used[layer] = n + T
        return buf_k[:, :, :n + T], buf_v[:, :, :n + T]

    def length(self, layer: int = 0) -> int:
        return self.used[layer]

    def select(self, index: torch.Tensor) -> None:
        """Keep only the batch rows in ``index`` (reorders too)."""
        for i in range(self.n_layer):
            if self.k[i] is not None:
                self.k[i] = self.k[i].index_select(0, index)  # type: ignore[union-attr]
                self.v[i] = self.v[i].index_select(0, index)  # type: ignore[union-attr]


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

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None, layer: int) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if cache is not None:
            past = cache.length(layer)
            k, v = cache.append(layer, k, v)
            if past and T > 1:  # a chunk after a prefix: causal within the chunk, all of the past
                mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(past)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            else:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
        else:
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

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                cache: KVCache | None, layer: int) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), cos, sin, cache, layer)
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
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
        """Token ids (B, T) -> logits (B, T, V). With a cache, positions continue from it."""
        if cache is not None and not self.training:
            return self._decode(idx, cache)
        B, T = idx.shape
        start = cache.pos if cache is not None else 0
        cos, sin = self._rope(start + T, idx.device)
        cos, sin = cos[start:start + T], sin[start:start + T]
        x = self.drop(self.wte(idx))  # (B, T, C)
        for layer, block in enumerate(self.blocks):
            x = block(x, cos, sin, cache, layer)
        if cache is not None:
            cache.pos += T
        return self.head(self.ln_f(x))  # (B, T, V)

    def _decode(self, idx: torch.Tensor, cache: KVCache) -> torch.Tensor:
        """The same computation as ``forward`` for inference with a cache, written with plain
        functions: decoding runs one small step per token, where module calls are the cost."""
        B, T = idx.shape
        C, H = self.config.n_embd, self.config.n_head
        start = cache.pos
        cos, sin = self._rope(start + T, idx.device)
        cos, sin = cos[start:start + T], sin[start:start + T]
        x = F.embedding(idx, self.wte.weight)  # (B, T, C)
        mask = None
        for layer, block in enumerate(self.blocks):
            attn, mlp = block.attn, block.mlp
            h = F.layer_norm(x, (C,), block.ln1.weight, block.ln1.bias)
            q, k, v = F.linear(h, attn.qkv.weight).view(B, T, 3, H, C // H).permute(2, 0, 3, 1, 4)  # 3 x (B, H, T, D)
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            past = cache.length(layer)
            k, v = cache.append(layer, k, v)
            if past and T > 1:  # a chunk after a prefix: causal within the chunk, all of the past
                if mask is None:
                    mask = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(past)
                y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            else:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
            x = x + F.linear(y.transpose(1, 2).reshape(B, T, C), attn.proj.weight)
            h = F.layer_norm(x, (C,), block.ln2.weight, block.ln2.bias)
            x = x + F.linear(F.gelu(F.linear(h, mlp.up.weight)), mlp.down.weight)
        cache.pos += T
        return F.linear(F.layer_norm(x, (C,), self.ln_f.weight, self.ln_f.bias), self.wte.weight)

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
