#!/usr/bin/python3
"""Reference data for TACO-J's PieAPP (ai.taco.metrics.Pieapp): piq's PieAPP run on random weights.

PieAPP's score head alone holds 62M weights (fc1_score: 120832 -> 512), too large to commit even as random data. The
random weights are therefore defined by a counter-based recipe that the Java test rebuilds bit for bit (see
`recipe_tensor`); `pieapp-cases.safetensors` carries per-tensor checksums so a recipe mismatch is reported as such.

Run (Debian python3-torch 1.13 + python3-torchvision + python3-pil + python3-numpy; piq on PYTHONPATH):
    PYTHONPATH=/path/to/piq /usr/bin/python3 scripts/reference/pieapp.py --kodak DIR --out DIR
"""
import argparse
import sys
import types

import numpy as np

import safetensors_io  # this folder's shared safetensors reader/writer

# piq imports every metric at package import; a few need optional packages unrelated to PieAPP.
for optional in ("scipy", "scipy.ndimage", "scipy.signal"):
    try:
        __import__(optional)
    except ImportError:
        sys.modules[optional] = types.ModuleType(optional)

import torch  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

GOLDEN64 = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
CONV_CHANNELS = [(3, 64), (64, 64), (64, 64), (64, 128), (128, 128), (128, 128), (128, 256), (256, 256),
                 (256, 256), (256, 512), (512, 512)]
BIAS_BOUND = 0.1


def state_dict_layout():
    """(key, shape, bound) in recipe order; shapes as stored in PieAPPv0.1.pth (ref_score_subtract.weight is [1])."""
    keys = []
    for i, (cin, cout) in enumerate(CONV_CHANNELS, start=1):
        keys.append((f"conv{i}.weight", (cout, cin, 3, 3), np.sqrt(6.0 / (cin * 9))))
        keys.append((f"conv{i}.bias", (cout,), BIAS_BOUND))
    for head, fan_in in (("score", 120832), ("weight", 2048)):
        keys.append((f"fc1_{head}.weight", (512, fan_in), np.sqrt(6.0 / fan_in)))
        keys.append((f"fc1_{head}.bias", (512,), BIAS_BOUND))
        keys.append((f"fc2_{head}.weight", (1, 512), np.sqrt(6.0 / 512)))
        keys.append((f"fc2_{head}.bias", (1,), BIAS_BOUND))
    keys.append(("ref_score_subtract.weight", (1,), 1.0))
    keys.append(("ref_score_subtract.bias", (1,), 1.0))
    return keys


def recipe_tensor(index, shape, bound):
    """Element i of tensor `index` (1-based): splitmix64(index << 40 | i), top 24 bits -> odd/2^24 in (-1,1), times
    float32(bound), all in float32 (every step exact except the final product, which IEEE rounds the same in Java)."""
    n = int(np.prod(shape))
    out = np.empty(n, dtype=np.float32)
    b = np.float32(bound)
    chunk = 1 << 22
    with np.errstate(over="ignore"):
        for start in range(0, n, chunk):
            z = (np.uint64(index) << np.uint64(40)) + np.arange(start, min(n, start + chunk), dtype=np.uint64)
            z = z + np.uint64(GOLDEN64)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
            z = z ^ (z >> np.uint64(31))
            top = (z >> np.uint64(40)).astype(np.int64)
            v = ((2 * top + 1 - (1 << 24)).astype(np.float32)) / np.float32(1 << 24)
            out[start:start + len(top)] = v * b
    return torch.from_numpy(out.reshape(shape))


def random_state_dict():
    return {k: recipe_tensor(i, s, b) for i, (k, s, b) in enumerate(state_dict_layout(), start=1)}


def crop(kodak, name, top, left, h, w):
    im = Image.open(f"{kodak}/{name}").convert("RGB")
    return im.crop((left, top, left + w, top + h))


def jpeg(im, quality):
    import io
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def to_u8(images):
    return np.stack([np.asarray(im, dtype=np.uint8).transpose(2, 0, 1) for im in images])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kodak", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import piq

    weights = random_state_dict()
    # piq's constructor fetches PieAPPv0.1.pth; hand it the random state dict in that file's layout instead.
    torch.hub.load_state_dict_from_url = lambda *a, **k: {k2: v.clone() for k2, v in weights.items()}

    h, w = 96, 128
    ref = [crop(args.kodak, "kodim01.png", 200, 300, h, w), crop(args.kodak, "kodim23.png", 120, 340, h, w)]
    dist = [jpeg(ref[0], 15), ref[1].filter(ImageFilter.GaussianBlur(1.5))]
    ref_u8, dist_u8 = to_u8(ref), to_u8(dist)
    y = torch.from_numpy(ref_u8).float() / 255.0
    x = torch.from_numpy(dist_u8).float() / 255.0

    torch.set_num_threads(1)
    with torch.no_grad():
        per_image = piq.PieAPP(reduction="none")(x, y)
        mean = piq.PieAPP()(x, y)
        metric = piq.PieAPP(reduction="none")
        xf, xw = metric.get_features(x)
        yf, yw = metric.get_features(y)
        d, wt = metric.model.compute_difference(yf - xf, yw - xw)
        identical = piq.PieAPP(reduction="none")(y, y)

    checks = np.array([float(np.sum(weights[k].numpy().astype(np.float64))) for k, _, _ in state_dict_layout()])
    firsts = np.stack([weights[k].numpy().reshape(-1)[:4] if weights[k].numel() >= 4 else
                       np.pad(weights[k].numpy().reshape(-1), (0, 4 - weights[k].numel())) for k, _, _ in
                       state_dict_layout()])
    out = {
        "ref_u8": ref_u8,
        "dist_u8": dist_u8,
        "score": per_image.numpy().astype(np.float32),
        "score_mean": mean.reshape(1).numpy().astype(np.float32),
        "patch_distance": d.reshape(-1).numpy(),
        "patch_weight": wt.reshape(-1).numpy(),
        "feature_diff_abs_max": np.array([float((yf - xf).abs().max())], dtype=np.float32),
        "score_identical": identical.numpy().astype(np.float32),
        "weights_sum": checks,
        "weights_first4": firsts.astype(np.float32),
    }
    meta = {"piq": piq.__version__, "torch": torch.__version__, "stride": "27", "data_range": "1.0",
            "keys": ",".join(k for k, _, _ in state_dict_layout())}
    safetensors_io.write(f"{args.out}/pieapp-cases.safetensors", out, meta)
    for k, v in out.items():
        if v.size <= 16:
            print(k, v.reshape(-1).tolist())
    print("patch weights", wt.reshape(-1).tolist())
    print("patch distances", d.reshape(-1).tolist())


if __name__ == "__main__":
    main()
