#!/usr/bin/env python3
"""Digest of the small official TACO state dict: key order, dtype, shape and sha256 of each tensor's bytes.

Input: the `weights.safetensors` that the official export wrote beside `checkpoint.pth.tar` (the same 441 tensors,
keys without `module.`). Output: taco-small/weights-digest.json, which lets the tests prove that TACO-J's .pth reader
returns exactly those tensors without the repository carrying the same 23 MB twice.

    python3 scripts/reference/taco_small_digest.py <weights.safetensors> <out.json>

Reads the safetensors layout directly (8-byte little-endian header length, JSON header, raw data): no third-party
package needed.
"""
import hashlib
import json
import struct
import sys


def main(src, out):
    with open(src, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    entries = []
    for key, info in header.items():  # JSON object order is the file's order
        if key == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        entries.append({"key": key, "dtype": info["dtype"], "shape": info["shape"],
                        "sha256": hashlib.sha256(data[lo:hi]).hexdigest()})
    with open(out, "w") as f:
        json.dump({"source": "official export weights.safetensors of taco-small/checkpoint.pth.tar",
                   "tensors": entries}, f, indent=1)
        f.write("\n")
    print(f"{len(entries)} tensors -> {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
