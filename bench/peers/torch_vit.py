#!/usr/bin/python3
"""PyTorch peer of bench/perf's encoder, skeleton and matmul modes.

Builds the ViT that internal/encoder builds, from the configuration that
`perf -mode config` prints (same image size, convolutional stem, patching,
width, depth, heads, MLP width, pre-norm blocks with exact GELU, class
token, final layer norm), and times, on the CPU:

  encoder   forward to the class-token feature (no autograd), or one train
            step: forward, linear head, cross-entropy, backward, AdamW
            (lr 5e-4, betas 0.9/0.96, eps 1e-8, weight decay 0.05 on
            matrices only), as irgen's nn.AdamW
  skeleton  the same matmuls and convolutions alone (bench/perf skeleton)
  matmul    one n x n float32 matmul

Prints one JSON line, with the process's peak memory (ru_maxrss, VmHWM)
and the BLAS library it loaded (blas, blas_path, blas_libs: bench/peers/
blas.py; blas_build: the BLAS_INFO torch was built with).
Run with Debian's python3-torch: /usr/bin/python3.
"""

import argparse
import json
import os
import sys
import time

from blas import loaded_blas
from peak import peak_memory


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--mode", required=True, choices=["encoder", "skeleton", "matmul"])
    p.add_argument("--config", help="JSON line of `perf -mode config`")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--phase", default="train", choices=["forward", "train"])
    p.add_argument("--part", default="all", choices=["all", "stem"])
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--n", type=int, default=2048, help="matmul side")
    return p.parse_args()


ARGS = parse()
# Thread pools read these when the libraries load.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import torch  # noqa: E402
import torch.nn as tnn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(ARGS.threads)
torch.manual_seed(1)
NUM_CLASSES = 10  # as bench/perf


class Stem(tnn.Module):
    """Space-to-depth 2x2, 3x3 same convolution, layer norm, GELU."""

    def __init__(self, cin, cout, eps):
        super().__init__()
        self.conv = tnn.Conv2d(4 * cin, cout, 3, padding=1)
        self.norm = tnn.LayerNorm(cout, eps=eps)

    def forward(self, x):  # [B, H, W, C]
        b, h, w, c = x.shape
        x = x.reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h // 2, w // 2, 4 * c)
        x = self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return F.gelu(self.norm(x))


class Block(tnn.Module):
    def __init__(self, d, heads, mlp, eps):
        super().__init__()
        self.heads = heads
        self.ln1 = tnn.LayerNorm(d, eps=eps)
        self.qkv = tnn.Linear(d, 3 * d)
        self.out = tnn.Linear(d, d)
        self.ln2 = tnn.LayerNorm(d, eps=eps)
        self.fc1 = tnn.Linear(d, mlp)
        self.fc2 = tnn.Linear(mlp, d)

    def forward(self, x):
        b, t, d = x.shape
        h = self.ln1(x)
        qkv = self.qkv(h).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax(q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5, dim=-1)
        a = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.out(a)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class ViT(tnn.Module):
    def __init__(self, c):
        super().__init__()
        eps = c["eps"]
        stem, ch = [], c["channels"]
        for out in c.get("stem") or []:
            stem.append(Stem(ch, out, eps))
            ch = out
        self.stem = tnn.Sequential(*stem)
        self.grid = c["image_size"] >> len(stem)
        self.p, self.ch, d = c["patch"], ch, c["dim"]
        n = self.grid // self.p
        self.patch = tnn.Linear(self.p * self.p * ch, d)
        self.cls = tnn.Parameter(torch.randn(d) * 0.02)
        self.pos = tnn.Parameter(torch.randn(n * n + 1, d) * 0.02)
        self.pre = tnn.LayerNorm(d, eps=eps) if c.get("pre_norm") else None
        self.blocks = tnn.Sequential(*[Block(d, c["heads"], c["mlp_dim"], eps) for _ in range(c["depth"])])
        self.norm = tnn.LayerNorm(d, eps=eps)
        if c["activation"] != "gelu":
            sys.exit(f"torch_vit: activation {c['activation']} not mirrored")

    def forward(self, images):  # [B, H, W, C] -> class token [B, D]
        x = self.stem(images)
        b, p, n = x.shape[0], self.p, self.grid // self.p
        x = x.reshape(b, n, p, n, p, self.ch).permute(0, 1, 3, 2, 4, 5).reshape(b, n * n, p * p * self.ch)
        x = self.patch(x)
        x = torch.cat([self.cls.expand(b, 1, -1), x], 1) + self.pos
        if self.pre is not None:
            x = self.pre(x)
        return self.norm(self.blocks(x))[:, 0]


def timed(run):
    start = time.perf_counter()
    run()
    compile_s = time.perf_counter() - start
    for _ in range(ARGS.warmup):
        run()
    per = []
    for _ in range(ARGS.iters):
        t = time.perf_counter()
        run()
        per.append(time.perf_counter() - t)
    return compile_s, per


def median(v):
    s = sorted(v)
    return s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2


def times(rec, compile_s, per, batch, gflop):
    med = median(per)
    rec.update(compile_s=compile_s, iters=len(per), ms=1000 * med, ms_mean=1000 * sum(per) / len(per),
               ms_all=[1000 * x for x in per], images_per_s=batch / med, gflops_achieved=gflop / med)


def images(c, batch):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(batch, c["image_size"], c["image_size"], c["channels"], generator=g)
    y = torch.randint(0, NUM_CLASSES, (batch,), generator=g)
    return x, y


def encoder_bench(info):
    c = info["config"]
    model = ViT(c)
    head = tnn.Linear(c["dim"], NUM_CLASSES)
    x, y = images(c, ARGS.batch)
    if ARGS.phase == "forward":
        model.eval()

        def run():
            with torch.no_grad():
                model(x)
    else:
        params = list(model.parameters()) + list(head.parameters())
        decay = [p for p in params if p.dim() >= 2]
        rest = [p for p in params if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": rest, "weight_decay": 0.0}],
                                lr=5e-4, betas=(0.9, 0.96), eps=1e-8)

        def run():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(head(model(x)), y)
            loss.backward()
            opt.step()
    return run


def skeleton_bench(info):
    """The ViT's matmuls and convolutions alone, as bench/perf skeleton."""
    c = info["config"]
    g = torch.Generator().manual_seed(3)
    train, stem_only = ARGS.phase == "train", ARGS.part == "stem"
    if stem_only and not c.get("stem"):
        sys.exit("torch_vit: size has no stem")

    def w(*dims):
        return (torch.randn(*dims, generator=g) * 0.02).requires_grad_(train)

    stem_w, ch = [], c["channels"]
    for out in c.get("stem") or []:
        stem_w.append(w(9 * 4 * ch, out))
        ch = out
    d, mlp, heads, p = c["dim"], c["mlp_dim"], c["heads"], c["patch"]
    patch_w = w(p * p * ch, d)
    blocks = [(w(d, 3 * d), w(d, d), w(d, mlp), w(mlp, d)) for _ in range(c["depth"])]
    weights = stem_w if stem_only else stem_w + [patch_w] + [t for blk in blocks for t in blk]
    x0, _ = images(c, ARGS.batch)

    def graph():
        x, cin = x0, c["channels"]
        b = x.shape[0]
        for k, out in zip(stem_w, c.get("stem") or []):
            h, wd = x.shape[1], x.shape[2]
            x = x.reshape(b, h // 2, 2, wd // 2, 2, cin).permute(0, 1, 3, 2, 4, 5).reshape(b, h // 2, wd // 2, 4 * cin)
            kern = k.reshape(3, 3, 4 * cin, out).permute(3, 2, 0, 1)
            x = F.conv2d(x.permute(0, 3, 1, 2), kern, padding=1).permute(0, 2, 3, 1)
            cin = out
        if stem_only:
            return x.sum()
        n = x.shape[1] // p
        x = x.reshape(b, n, p, n, p, cin).permute(0, 1, 3, 2, 4, 5).reshape(b * n * n, p * p * cin) @ patch_w
        x = torch.cat([x.reshape(b, n * n, d), torch.zeros(b, 1, d)], 1)
        t = n * n + 1
        x = x.reshape(b * t, d)
        for wqkv, wo, w1, w2 in blocks:
            qkv = (x @ wqkv).reshape(b, t, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
            a = (qkv[0] @ qkv[1].transpose(-1, -2)) @ qkv[2]
            x = x + a.transpose(1, 2).reshape(b * t, d) @ wo
            x = x + (x @ w1) @ w2
        return x.sum()

    if train:
        def run():
            torch.autograd.grad(graph(), weights)
    else:
        def run():
            with torch.no_grad():
                graph()
    return run


def blas_build():
    """BLAS_INFO of torch's build (generic: the system's libblas.so.3; mkl: linked in)."""
    for part in torch.__config__.show().replace(",", " ").split():
        if part.startswith("BLAS_INFO="):
            return part.split("=", 1)[1]
    return ""


def main():
    rec = {"impl": "torch", "backend": "torch", "torch": torch.__version__, "threads": ARGS.threads,
           "mode": ARGS.mode}
    if ARGS.mode == "matmul":
        g = torch.Generator().manual_seed(5)
        a = torch.randn(ARGS.n, ARGS.n, generator=g)
        b = torch.randn(ARGS.n, ARGS.n, generator=g)
        gflop = 2 * ARGS.n ** 3 / 1e9
        compile_s, per = timed(lambda: torch.mm(a, b))
        rec.update(bench="matmul", n=ARGS.n, gflop=gflop)
        times(rec, compile_s, per, 1, gflop)
        del rec["images_per_s"]
    else:
        info = json.loads(ARGS.config)
        c = info["config"]
        fwd = info["gflops_forward_per_image"] * ARGS.batch
        if ARGS.mode == "skeleton" and ARGS.part == "stem":
            fwd = info["stem_gflops_per_image"] * ARGS.batch
        gflop = fwd if ARGS.phase == "forward" else 3 * fwd
        run = encoder_bench(info) if ARGS.mode == "encoder" else skeleton_bench(info)
        compile_s, per = timed(run)
        rec.update(bench=ARGS.mode, size=info["size"], batch=ARGS.batch, phase=ARGS.phase, matmul_gflop=gflop,
                   image_size=c["image_size"], dim=c["dim"], depth=c["depth"], heads=c["heads"],
                   mlp_dim=c["mlp_dim"], stem=c.get("stem"))
        if ARGS.mode == "skeleton":
            rec["part"] = ARGS.part
        times(rec, compile_s, per, ARGS.batch, gflop)
    rec.update(loaded_blas("libtorch_cpu"), blas_build=blas_build())
    rec.update(peak_memory())
    print(json.dumps(rec, sort_keys=True))


if __name__ == "__main__":
    main()
