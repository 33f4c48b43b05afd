"""Independent PyTorch reference of the face-ViT family and of the ViTNT-FIQA score.

Written from ../shared/docs/method.md (not from any other project's code). It is the
golden-value source for the C++ engine's tests and the student model of the
distillation recipe, so both agree on layer names and semantics by construction.

Run with Debian's /usr/bin/python3 (torch 1.13).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x):
        b, n, d = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(b, n, 3, h, d // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * (d // h) ** -0.5
        attn = attn.softmax(dim=-1)  # [b, h, query, key]
        out = (attn @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out), attn


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(torch.clamp(self.fc1(x), 0.0, 6.0))  # ReLU6


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        a, attn = self.attn(self.norm1(x))
        x = x + a
        x = x + self.mlp(self.norm2(x))
        return x, attn


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # row-major tokens


class FaceViT(nn.Module):
    """insightface / CVLface face ViT: no class token, ReLU6 MLP, flatten+BN head."""

    def __init__(self, img_size=112, patch_size=8, embed_dim=512, depth=12, num_heads=8,
                 mlp_ratio=4.0, num_features=512, gated=False):
        super().__init__()
        grid = img_size // patch_size
        self.num_patches = grid * grid
        self.patch_embed = PatchEmbed(patch_size, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.num_patches, embed_dim))
        self.blocks = nn.ModuleList(
            [Block(embed_dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-5)
        self.feature = nn.Sequential(
            nn.Linear(self.num_patches * embed_dim, embed_dim, bias=False),
            nn.BatchNorm1d(embed_dim, eps=2e-5),
            nn.Linear(embed_dim, num_features, bias=False),
            nn.BatchNorm1d(num_features, eps=2e-5))
        # TransFace: each patch's final-norm token scaled by a gate in (0, 1) computed
        # from all of them, before the head
        self.senet = nn.Sequential(
            nn.Linear(self.num_patches * embed_dim, self.num_patches, bias=False), nn.ReLU(),
            nn.Linear(self.num_patches, self.num_patches, bias=False),
            nn.Sigmoid()) if gated else None

    def head_input(self, normed):
        """What the FR head reads: final-norm tokens [B, N, D] flattened (gated first for TransFace)."""
        flat = normed.reshape(normed.shape[0], -1)
        if self.senet is not None:
            flat = (normed * self.senet(flat).unsqueeze(-1)).reshape(normed.shape[0], -1)
        return flat

    def tokens(self, x):
        return self.patch_embed(x) + self.pos_embed

    def forward(self, x):
        """Embedding (not normalised), as the FR head gives it."""
        x = self.tokens(x)
        for blk in self.blocks:
            x, _ = blk(x)
        return self.feature(self.head_input(self.norm(x)))


def vitnt_score(model, x, first, last, scaling=8.0, aggregation="attention-last",
                embedding=False):
    """ViTNT-FIQA exactly as method.md. Returns (Q [B], q_p [B, N], emb or None).

    Runs blocks 0..last; keeps every normalised token (clarity over memory here)."""
    model.eval()
    with torch.no_grad():
        h = model.tokens(x)
        z = []
        attn_sum = None
        attn_last = None
        for i, blk in enumerate(model.blocks):
            if i > last and not embedding:
                break
            h, attn = blk(h)
            if first <= i <= last:
                z.append(F.normalize(model.norm(h), dim=-1))
                w = attn.mean(dim=1).sum(dim=1)  # [B, key]
                w = w / w.sum(dim=-1, keepdim=True)
                attn_sum = w if attn_sum is None else attn_sum + w
                attn_last = w
        d = torch.stack([(z[t + 1] - z[t]).norm(dim=-1) for t in range(len(z) - 1)]).mean(0)
        q = 2.0 / (1.0 + torch.exp(scaling * d))
        if aggregation == "uniform":
            Q = q.mean(dim=-1)
        elif aggregation == "attention-last":
            Q = (attn_last * q).sum(-1)
        elif aggregation == "attention-all":
            w = attn_sum / (last - first + 1)
            Q = (w / w.sum(-1, keepdim=True) * q).sum(-1)
        else:
            raise ValueError(f"unknown aggregation {aggregation}")
        emb = None
        if embedding:
            hn = model.norm(h)
            emb = model.feature(model.head_input(hn))
        return Q, q, emb


def randomize(model, seed):
    """Random weights with realistic scale: LayerNorm/BN parameters perturbed so that
    a test notices if any of them is ignored."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or \
                    name == "norm.weight" or name.startswith("feature.1.weight") or \
                    name.startswith("feature.3.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.shape[-1]
                std = 1.0 / math.sqrt(fan_in) if name != "pos_embed" else 0.1
                p.copy_(std * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
    return model


def to_input(images_rgb_uint8):
    """uint8 [B, 112, 112, 3] RGB -> float [B, 3, 112, 112] in [-1, 1]."""
    x = torch.as_tensor(images_rgb_uint8).permute(0, 3, 1, 2).float()
    return (x / 255.0 - 0.5) / 0.5
