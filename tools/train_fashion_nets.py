#!/usr/bin/python3
"""Trains two small real networks on Fashion-MNIST, built from the blocks of ResNet and
MobileNetV2, and exports them to ONNX as a PyTorch user would: the models `greenai quantize`,
`greenai eval` and `greenai pipeline --model` are shown on (docs/edge-runtime.md, "Bring your own
model").

Not needed by the build or the tests' default run. Uses Debian's python3-torch (1.13) and the
data set of Debian's dataset-fashion-mnist; nothing is downloaded. A few minutes on 2 cores.

    /usr/bin/python3 tools/train_fashion_nets.py --out DIR [--epochs 3] [--seed 0]

Writes DIR/fashion_resnet.onnx and DIR/fashion_mobilenet.onnx (opset 13, batch dynamic), and the
data as NumPy files: DIR/x_calibration.npy (1,000 training images), DIR/x_test.npy and
DIR/y_test.npy (the 10,000 test images and labels), float32 [N, 1, 28, 28] in [0, 1] and int64.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
from torch import nn

DATA = os.environ.get("GREENAI_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split):
    images = read_idx(f"{split}-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = read_idx(f"{split}-labels-idx1-ubyte.gz").astype(np.int64)
    return images[:, None, :, :], labels


class BasicBlock(nn.Module):
    """ResNet's basic block: two 3x3 conv-BN, a residual add (a 1x1 conv-BN when the shape
    changes), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (self.down(x) if self.down is not None else x))


class FashionResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU())
        self.layers = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2),
                                    BasicBlock(32, 64, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layers(self.stem(x))), 1))


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, 1x1 project (ReLU6 between), with a
    residual add when the shape holds."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.block = nn.Sequential(
            nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6(),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.block(x)
        return x + y if self.residual else y


class FashionMobileNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU6())
        self.blocks = nn.Sequential(InvertedResidual(16, 16, 1, 1), InvertedResidual(16, 24, 2, 4),
                                    InvertedResidual(24, 24, 1, 4), InvertedResidual(24, 32, 2, 4),
                                    InvertedResidual(32, 32, 1, 4))
        self.head = nn.Sequential(nn.Conv2d(32, 128, 1, bias=False), nn.BatchNorm2d(128),
                                  nn.ReLU6())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.head(self.blocks(self.stem(x)))), 1))


def train(model, x, y, epochs, seed):
    torch.manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4,
                          nesterov=True)
    steps = epochs * ((len(x) + 127) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(xt))
        for i in range(0, len(xt), 128):
            idx = order[i:i + 128]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"  epoch {epoch + 1}: loss {loss.item():.3f}", flush=True)
    model.eval()


def accuracy(model, x, y):
    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(x[i:i + 1000])) for i in range(0, len(x), 1000)])
    return (logits.argmax(1).numpy() == y).mean()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    x_train, y_train = load("train")
    x_test, y_test = load("t10k")
    np.save(os.path.join(args.out, "x_calibration.npy"), x_train[:1000])
    np.save(os.path.join(args.out, "x_test.npy"), x_test)
    np.save(os.path.join(args.out, "y_test.npy"), y_test)
    for name, net in (("fashion_resnet", FashionResNet()), ("fashion_mobilenet", FashionMobileNet())):
        start = time.time()
        print(f"{name}: training {args.epochs} epochs", flush=True)
        train(net, x_train, y_train, args.epochs, args.seed)
        path = os.path.join(args.out, name + ".onnx")
        torch.onnx.export(net, torch.from_numpy(x_test[:1]), path, opset_version=13,
                          input_names=["image"], output_names=["logits"],
                          dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
        print(f"{path}: {os.path.getsize(path)} bytes, PyTorch test accuracy "
              f"{100 * accuracy(net, x_test, y_test):.2f} %, {time.time() - start:.0f} s",
              flush=True)


if __name__ == "__main__":
    main()
