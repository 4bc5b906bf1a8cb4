#!/usr/bin/env python3
"""The small TACO checkpoint re-saved in torch.save's legacy (pre-1.6, non-zip) format, for the checkpoint reader tests.

Loads taco-small/checkpoint.pth.tar (the official `save_checkpoint` layout: epoch, state_dict with 'module.' keys,
optimizer, aux_optimizer, lr_scheduler with a collections.Counter, best_* floats, *_model_path strings) with torch,
keeps every entry but restricts 'state_dict' to the tensors of at most MAX_NUMEL elements (the whole file would be
23 MB), keeping their order and the state dict's `_metadata`, and writes it with
torch.save(..., _use_new_zipfile_serialization=False).

Usage (Debian's interpreter; needs only torch):
  /usr/bin/python3 scripts/reference/legacy_pth.py --ref <taco-small folder> --out <folder>
Writes <folder>/checkpoint_legacy_subset.pth and prints a JSON summary.
"""
import argparse
import collections
import hashlib
import json
import sys
from pathlib import Path

import torch

NAME = "checkpoint_legacy_subset.pth"
MAX_NUMEL = 4096  # keeps 389 of the 441 state-dict tensors, 0.85 MB of tensor data


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ref", required=True, help="taco-small reference folder (checkpoint.pth.tar)")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    src = Path(a.ref) / "checkpoint.pth.tar"
    ck = torch.load(src, map_location="cpu")
    sd = ck["state_dict"]
    sub = collections.OrderedDict((k, v) for k, v in sd.items() if v.numel() <= MAX_NUMEL)
    sub._metadata = getattr(sd, "_metadata", None)  # as nn.Module.state_dict() leaves it
    ck["state_dict"] = sub
    out = Path(a.out) / NAME
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ck, out, _use_new_zipfile_serialization=False)

    # Read back: same tensors, and really the legacy layout (no zip signature; torch's magic number pickle first).
    back = torch.load(out, map_location="cpu")
    assert list(back["state_dict"].keys()) == list(sub.keys())
    for k, v in sub.items():
        assert back["state_dict"][k].dtype == v.dtype and torch.equal(back["state_dict"][k], v), k
    head = out.read_bytes()[:16]
    assert not head.startswith(b"PK"), "zip file written"
    dtypes = collections.Counter(str(v.dtype) for v in sub.values())
    print(json.dumps({
        "out": str(out), "bytes": out.stat().st_size, "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
        "state_dict_keys": len(sub), "of": len(sd), "max_numel": MAX_NUMEL, "dtypes": dtypes,
        "empty_tensors": sum(1 for v in sub.values() if v.numel() == 0),
        "top_level_keys": list(ck.keys()), "optimizer_state_entries": len(ck["optimizer"]["state"]),
        "torch": torch.__version__, "python": sys.version.split()[0],
    }, indent=1))


if __name__ == "__main__":
    main()
