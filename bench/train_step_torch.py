"""PyTorch reference for `cargo xtask bench train`: the pix2pixHD training step and
generator inference that dancenow runs (crates/gan/examples/bench_train.rs), with the
same sizes, losses, optimizer and thread count, written in plain PyTorch.

usage: train_step_torch.py small|paper-global STEPS THREADS VGG16_SAFETENSORS
prints one JSON line: median seconds per step, generator frames per second.
"""

import json
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {
    # name: (ngf, n_downsampling, n_blocks, ndf, n_layers_d, num_d, width, height)
    "small": (32, 3, 6, 32, 3, 2, 256, 256),
    "paper-global": (64, 4, 9, 64, 3, 2, 512, 256),
}


def init(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


class ResnetBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

    def forward(self, x):
        return x + self.block(x)


def global_generator(ngf, n_down, n_blocks):
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
    for i in range(n_down):
        c = ngf * 2 ** i
        layers += [nn.Conv2d(c, 2 * c, 3, 2, 1), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
    deepest = ngf * 2 ** n_down
    layers += [ResnetBlock(deepest) for _ in range(n_blocks)]
    for i in range(n_down):
        c = deepest // 2 ** i
        layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1),
                   nn.InstanceNorm2d(c // 2), nn.ReLU(True)]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
    return init(nn.Sequential(*layers))


class NLayerD(nn.Module):
    def __init__(self, ndf, n_layers):
        super().__init__()
        seq = [[nn.Conv2d(6, ndf, 4, 2, 2), nn.LeakyReLU(0.2, True)]]
        c = ndf
        for n in range(1, n_layers + 1):
            nxt = min(c * 2, 512)
            stride = 2 if n < n_layers else 1
            seq.append([nn.Conv2d(c, nxt, 4, stride, 2), nn.InstanceNorm2d(nxt), nn.LeakyReLU(0.2, True)])
            c = nxt
        seq.append([nn.Conv2d(c, 1, 4, 1, 2)])
        self.layers = nn.ModuleList(nn.Sequential(*s) for s in seq)
        init(self)

    def forward(self, x):
        out = []
        for layer in self.layers:
            x = layer(x)
            out.append(x)
        return out


class MultiscaleD(nn.Module):
    def __init__(self, ndf, n_layers, num_d):
        super().__init__()
        self.scales = nn.ModuleList(NLayerD(ndf, n_layers) for _ in range(num_d))

    def forward(self, x):
        out = []
        for i, d in enumerate(self.scales):
            if i > 0:
                x = F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
            out.append(d(x))
        return out


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).reshape(meta["shape"]).copy())
    return out


class Vgg16Slices(nn.Module):
    CONVS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
             (256, 512), (512, 512), (512, 512), (512, 512)]
    ENDS = [0, 2, 4, 7, 10]
    POOL_AFTER = [1, 3, 6, 9]

    def __init__(self, path):
        super().__init__()
        w = read_safetensors(path)
        self.convs = nn.ModuleList()
        for i, (ci, co) in enumerate(self.CONVS):
            conv = nn.Conv2d(ci, co, 3, 1, 1)
            conv.weight.data.copy_(w[f"backbone.conv{i}.weight"])
            conv.bias.data.copy_(w[f"backbone.conv{i}.bias"])
            self.convs.append(conv)
        for p in self.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        h = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, conv in enumerate(self.convs):
            h = F.relu(conv(h))
            if i in self.ENDS:
                out.append(h)
            if i in self.POOL_AFTER:
                h = F.max_pool2d(h, 2, 2)
        return out


def lsgan(outputs, target):
    return sum(((o[-1] - target) ** 2).mean() for o in outputs)


def feature_matching(fake, real, n_layers, num_d):
    w = 4.0 / (n_layers + 1) / num_d * 10.0
    loss = 0
    for f, r in zip(fake, real):
        for a, b in zip(f[:-1], r[:-1]):
            loss = loss + (a - b.detach()).abs().mean() * w
    return loss


VGG_WEIGHTS = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0]


def main():
    name, steps, threads, vgg_path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    ngf, n_down, n_blocks, ndf, n_layers, num_d, w, h = SIZES[name]
    G = global_generator(ngf, n_down, n_blocks)
    D = MultiscaleD(ndf, n_layers, num_d)
    vgg = Vgg16Slices(vgg_path)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    x = torch.rand(1, 3, h, w) * 2 - 1
    y = torch.rand(1, 3, h, w) * 2 - 1

    def step():
        fake = G(x)
        real_pair, fake_pair = torch.cat([x, y], 1), torch.cat([x, fake], 1)
        d_fake = lsgan(D(fake_pair.detach()), 0.0)
        on_real = D(real_pair)
        d_real = lsgan(on_real, 1.0)
        loss_d = 0.5 * (d_fake + d_real)
        on_fake = D(fake_pair)
        g_gan = lsgan(on_fake, 1.0)
        g_feat = feature_matching(on_fake, on_real, n_layers, num_d)
        vf, vr = vgg(fake), vgg(y)
        g_vgg = sum(wt * (a - b.detach()).abs().mean() for wt, a, b in zip(VGG_WEIGHTS, vf, vr)) * 10.0
        loss_g = g_gan + g_feat + g_vgg
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        return loss_g.item()

    times = []
    for i in range(steps + 2):
        t = time.perf_counter()
        step()
        if i >= 2:
            times.append(time.perf_counter() - t)
    infer = []
    with torch.no_grad():
        for i in range(steps + 2):
            t = time.perf_counter()
            G(x)[0, 0, 0, 0].item()
            if i >= 2:
                infer.append(time.perf_counter() - t)
    print(json.dumps({"size": name, "step_s": round(statistics.median(times), 4),
                      "infer_fps": round(1 / statistics.median(infer), 3)}))


if __name__ == "__main__":
    main()
