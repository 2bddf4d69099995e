#!/usr/bin/python3
"""Exports torchvision architectures to ONNX, as a user of greenai would, for the importer's
checks and the side-by-side benchmarks (docs/edge-runtime.md, "Bring your own model").

Not needed by the build or the tests' default run. Uses Debian's python3-torch and
python3-torchvision (1.13 / 0.14); nothing is downloaded: the weights are torchvision's default
random initialisation under a fixed seed.

    /usr/bin/python3 tools/export_torchvision.py --out /tmp/models [--opset 13] [--images 16]

Writes, for each of resnet18 and mobilenet_v2 at 224x224:
    NAME.onnx          the model, batch dimension dynamic
    NAME_inputs.npy    float32 [images, 3, 224, 224], N(0, 1) under seed 1
    NAME_logits.npy    float32 [images, 1000], PyTorch's own outputs for those inputs
"""
import argparse
import os

import numpy as np
import torch
import torchvision


def export(name, out_dir, opset, images):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(images, 3, 224, 224, generator=generator)
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(model, x[:1], path, opset_version=opset, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"},
                                                             "logits": {0: "batch"}})
    with torch.no_grad():
        logits = model(x)
    np.save(os.path.join(out_dir, name + "_inputs.npy"), x.numpy())
    np.save(os.path.join(out_dir, name + "_logits.npy"), logits.numpy())
    print(f"{path}: {os.path.getsize(path)} bytes, opset {opset}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--models", default="resnet18,mobilenet_v2")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(2)
    for name in args.models.split(","):
        export(name, args.out, args.opset, args.images)


if __name__ == "__main__":
    main()
