#!/usr/bin/python3
"""Reference data for TACO-J's KID (ai.taco.metrics.Kid): torch-fidelity's estimator on fixed random features.

Runs torch_fidelity.metric_kid.kid_features_to_metric (polynomial kernel (x.y/d + 1)^3, unbiased MMD^2, random
subsets drawn with numpy's legacy RandomState) and records the subset indices it drew and each subset's MMD^2.

Run (Debian python3-torch 1.13 + python3-numpy; torch-fidelity on PYTHONPATH):
    PYTHONPATH=/path/to/torch-fidelity /usr/bin/python3 scripts/reference/kid.py --out DIR
"""
import argparse

import numpy as np

import safetensors_io  # this folder's shared safetensors reader/writer
import torch

N1, N2, DIM = 60, 50, 2048
FEATURE_SEED = 7
SUBSET_SIZE = 20
SUBSETS = 100
RNG_SEED = 2020  # torch-fidelity's default rng_seed


def features():
    """Inception-pool3-like rows (non-negative, sparse-ish), float32 values so F32 storage is exact."""
    rng = np.random.default_rng(FEATURE_SEED)
    a = np.maximum(rng.normal(0.3, 0.5, (N1, DIM)), 0).astype(np.float32)
    b = np.maximum(rng.normal(0.35, 0.55, (N2, DIM)), 0).astype(np.float32)
    return a, b


def run(mk, f1, f2, subsets, subset_size):
    """torch-fidelity's estimator, recording what it draws and each subset's value."""
    drawn, mmds = [], []
    original_rs, original_kernel_mmd = np.random.RandomState, mk.kernel_mmd

    class Recording(original_rs):
        def choice(self, *a, **k):
            r = super().choice(*a, **k)
            drawn.append(np.asarray(r, dtype=np.int64))
            return r

    def recording_kernel_mmd(x, y, **kw):
        v = original_kernel_mmd(x, y, **kw)
        mmds.append(float(v))
        return v

    np.random.RandomState, mk.kernel_mmd = Recording, recording_kernel_mmd
    try:
        out = mk.kid_features_to_metric(torch.from_numpy(f1), torch.from_numpy(f2), kid_subsets=subsets,
                                        kid_subset_size=subset_size, rng_seed=RNG_SEED, verbose=False)
    finally:
        np.random.RandomState, mk.kernel_mmd = original_rs, original_kernel_mmd
    idx = np.stack(drawn).reshape(subsets, 2, subset_size)
    return out, idx, np.array(mmds)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    import torch_fidelity
    import torch_fidelity.metric_kid as mk

    a32, b32 = features()
    a, b = a32.astype(np.float64), b32.astype(np.float64)
    tensors = {"features1": a32, "features2": b32}
    sub, sub_idx, sub_mmd = run(mk, a, b, SUBSETS, SUBSET_SIZE)
    tensors.update({"subset.indices": sub_idx, "subset.mmd2": sub_mmd,
                    "subset.kid": np.array([sub[mk.KEY_METRIC_KID_MEAN], sub[mk.KEY_METRIC_KID_STD]])})
    # Subset size == number of rows on both sides: every subset is the whole set, no randomness left.
    full, _, _ = run(mk, a[:N2], b, SUBSETS, N2)
    tensors["full.kid"] = np.array([full[mk.KEY_METRIC_KID_MEAN], full[mk.KEY_METRIC_KID_STD]])
    meta = {"torch_fidelity": torch_fidelity.__version__, "numpy": np.__version__, "rng_seed": str(RNG_SEED),
            "subsets": str(SUBSETS), "subset_size": str(SUBSET_SIZE), "full_rows1": str(N2)}
    safetensors_io.write(f"{args.out}/kid_features.safetensors", tensors, meta)
    print("subset kid", tensors["subset.kid"].tolist(), "full kid", tensors["full.kid"].tolist())
    print("first subset", sub_idx[0].tolist())


if __name__ == "__main__":
    main()
