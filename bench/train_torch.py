#!/usr/bin/python3
# bench/train_torch.py - the vsim-train autoencoder in PyTorch on the CPU, for
# bench/bench-train.sh: same layers (4x4 stride-2 convs, fc bottleneck, mirrored
# decoder, sigmoid), same losses (L2; 1-SSIM with an 11x11 Gaussian window,
# sigma 1.5, valid windows), Adam, batch B of random images. Prints images/s.
# Usage: train_torch.py --model wide|slim --loss l2|ssim --batch 64 --threads T --steps N
# SPDX-License-Identifier: MIT
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SPECS = {"wide": ([32, 64, 128, 256], [1024, 512, 256, 128]),
         "slim": ([32, 64, 128, 256], [512, 256, 64])}


class AE(nn.Module):
    def __init__(self, convs, fcs, side=64):
        super().__init__()
        enc, ch = [], 1
        for c in convs:
            enc += [nn.Conv2d(ch, c, 4, 2, 1), nn.ReLU()]
            ch = c
        s = side >> len(convs)
        self.shape = (ch, s, s)
        flat, fc = ch * s * s, []
        widths = [flat] + fcs
        for i in range(len(fcs)):
            fc += [nn.Linear(widths[i], widths[i + 1])]
            if i < len(fcs) - 1:
                fc += [nn.ReLU()]
        self.enc = nn.Sequential(*enc, nn.Flatten(), *fc)
        dec = []
        for i in range(len(fcs), 0, -1):
            dec += [nn.Linear(widths[i], widths[i - 1]), nn.ReLU()]
        dconv, chans = [], list(reversed(convs)) + [1]
        for i in range(len(convs)):
            dconv += [nn.ConvTranspose2d(chans[i], chans[i + 1], 4, 2, 1)]
            dconv += [nn.ReLU() if i < len(convs) - 1 else nn.Sigmoid()]
        self.dec_fc = nn.Sequential(*dec)
        self.dec_conv = nn.Sequential(*dconv)

    def forward(self, x):
        z = self.enc(x)
        return self.dec_conv(self.dec_fc(z).view(-1, *self.shape))


def gauss_window():
    g = torch.exp(-0.5 * (torch.arange(11, dtype=torch.float32) - 5) ** 2 / 1.5 ** 2)
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim_loss(x, y, w):
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mx, my = F.conv2d(x, w), F.conv2d(y, w)
    vx = F.conv2d(x * x, w) - mx * mx
    vy = F.conv2d(y * y, w) - my * my
    vxy = F.conv2d(x * y, w) - mx * my
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return 1.0 - s.mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="wide")
    ap.add_argument("--loss", default="l2")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dev = torch.device(a.device)
    model = AE(*SPECS[a.model]).to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(a.batch, 1, 64, 64, device=dev)
    w = gauss_window().to(dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for i in range(a.warmup + a.steps):
        if i == a.warmup:
            sync()
            t0 = time.perf_counter()
        opt.zero_grad()
        y = model(x)
        loss = F.mse_loss(y, x) if a.loss == "l2" else ssim_loss(y, x, w)
        loss.backward()
        opt.step()
    sync()
    dt = time.perf_counter() - t0
    tf32 = ""
    if dev.type == "cuda":
        tf32 = " tf32 conv %d matmul %d" % (torch.backends.cudnn.allow_tf32,
                                              torch.backends.cuda.matmul.allow_tf32)
    print("torch %s %s %s batch %d threads %d params %d%s images/s %.1f" %
          (a.device, a.model, a.loss, a.batch, a.threads, n_params, tf32,
           a.steps * a.batch / dt))


if __name__ == "__main__":
    main()
