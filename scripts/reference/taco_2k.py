#!/usr/bin/env python3
"""Reference data for a 2K (1920x1080) image coded by the official TACO code with the small random-weight model.

Runs the official TACO (effl-lab/TACO 004f488) on CompressAI 1.2.6 with Debian's torch 1.13 (CPU), set up as in
scripts/reference/README.md, on:
  - the small checkpoint of the reference folder taco-small/ (checkpoint.pth.tar, random weights, seed 1234),
  - the text features of taco-small/img1_128x192.safetensors ('text_embeddings', [1, 38, 512], random N(0,1)),
  - a 1920x1080 mosaic of Kodak crops (see MOSAIC and build_mosaic).

Usage (Debian's interpreter, official code on PYTHONPATH):
  /usr/bin/python3 scripts/reference/taco_2k.py --ref <taco-small folder> --kodak <folder with kodimNN.png> \
      --out <output folder>
Writes into --out:
  kodak2k_1080x1920.bin          official file format: u32 H, W, then write_body(shape, [[y_string], [z_string]])
  kodak2k_1080x1920.x_hat.png    official decode of that .bin, cropped to 1080x1920, round(clamp(x,0,1)*255)
                                 with torch.round (half to even)
  kodak2k_1080x1920.ties.safetensors
                                 'x_hat.index' I32 (flat index into [3, 1080, 1920]) and 'x_hat.value' F32: the
                                 official float x_hat of every sample within TIE_STORE_BAND of a rounding midpoint;
                                 'y.index' I32 (position in the coded symbol order) and 'y.distance' F32: every coded
                                 y whose y - mu lies within Y_TIE_STORE_BAND of a rounding boundary; metadata 'info'
                                 (JSON: sizes, SHA-256s, bpp, PSNR, margins) and versions
  kodak2k_1080x1920.png          the input image (8-bit RGB)
"""
import argparse
import hashlib
import importlib.abc
import importlib.machinery
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np

import safetensors_io  # this folder's shared safetensors reader/writer
import torch
import torch.nn.functional as F
from PIL import Image


# Packages the official code imports at module load but never calls on the codec path, and Debian does not ship:
# CompressAI 1.2.6's point-cloud modules (torch_geometric, einops, pytorch_msssim, pointops, pyntcloud) and TACO's
# training-loss imports (lpips, clip, transformers). Only when the real package is missing, an inert module stands in;
# calling anything in it raises, so it cannot change a result.
OPTIONAL_ROOTS = {"torch_geometric", "pytorch_msssim", "einops", "pointops", "pyntcloud", "lpips", "clip",
                  "transformers"}


class _Inert:
    def __init__(self, name):
        self._name = name

    def __mro_entries__(self, bases):  # used as a base class
        return (object,)

    def __getattr__(self, item):
        if item.startswith("__"):
            raise AttributeError(item)
        return _Inert(self._name + "." + item)

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and not kwargs and isinstance(args[0], type):  # class decorator
            return args[0]
        if not kwargs and all(isinstance(x, str) for x in args):  # decorator factory, e.g. @register("name")
            return _Inert(self._name + "()")
        raise RuntimeError(f"{self._name} is not installed here (stand-in only)")


class _InertModule(types.ModuleType):
    def __getattr__(self, item):
        if item.startswith("__"):
            raise AttributeError(item)
        return _Inert(self.__name__ + "." + item)


class _InertFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in OPTIONAL_ROOTS:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _InertModule(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


sys.meta_path.append(_InertFinder())  # last: a real installed package always wins

import compressai  # noqa: E402
from config.config import model_config  # noqa: E402
from models import TACO  # noqa: E402
from utils.utils import Config, read_body, read_uints, write_body, write_uints  # noqa: E402

# TACO.decompress calls torch.cuda.synchronize() unconditionally; CPU-only torch raises there.
torch.cuda.synchronize = lambda *a, **k: None

NAME = "kodak2k_1080x1920"
HEIGHT, WIDTH = 1080, 1920
# 3x3 grid, row-major, of the 640x360 centre crops (rows 76-435, columns 64-703) of nine landscape (768x512) Kodak
# images.
MOSAIC = ["kodim01", "kodim02", "kodim03", "kodim05", "kodim06", "kodim07", "kodim08", "kodim11", "kodim12"]
TILE_H, TILE_W = 360, 640
# Same config as the taco-small reference folder (its README).
SMALL_CONFIG = dict(N=32, M=64, slice_num=5, slice_ch=[4, 4, 8, 16, 32], quant="ste", context_window=5)
TEXT_DIM = 512
# The test's tie band is 1e-5 (in x units); store twice that so the stored set is a superset.
TIE_STORE_BAND = 2e-5
# Coded y values whose y - mu lies closer than this to a rounding boundary are listed (the test allows a symbol to
# differ only there); 1e-4 is the forward-tensor parity tolerance of the small-model tests.
Y_TIE_STORE_BAND = 1e-4


def build_mosaic(kodak):
    out = np.zeros((HEIGHT, WIDTH, 3), dtype=np.uint8)
    for i, name in enumerate(MOSAIC):
        im = np.asarray(Image.open(Path(kodak) / (name + ".png")).convert("RGB"))
        assert im.shape == (512, 768, 3), (name, im.shape)
        top, left = (512 - TILE_H) // 2, (768 - TILE_W) // 2  # 76, 64
        r, c = divmod(i, 3)
        out[r * TILE_H:(r + 1) * TILE_H, c * TILE_W:(c + 1) * TILE_W] = im[top:top + TILE_H, left:left + TILE_W]
    return out


def pad64(x):
    """As the official evaluation: zeros right/bottom up to a multiple of 64."""
    _, _, h, w = x.shape
    return F.pad(x, (0, (-w) % 64, 0, (-h) % 64), mode="constant", value=0)


def tie_distance(v, centre):
    """min |0.5 - |d - round(d)|| with d = v - centre: how far a coded value is from a rounding boundary."""
    d = (v - centre).double()
    return float((0.5 - (d - torch.round(d)).abs()).abs().min())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ref", required=True, help="taco-small reference folder (checkpoint.pth.tar, img1_128x192...)")
    p.add_argument("--kodak", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    ref, out = Path(a.ref), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)

    # 2. Model: as the taco-small README (strip 'module.', load_state_dict, eval, update(force=True)).
    net = TACO(Config(SMALL_CONFIG), text_embedding_dim=TEXT_DIM)
    sd = torch.load(ref / "checkpoint.pth.tar", map_location="cpu")["state_dict"]
    net.load_state_dict({k[len("module."):] if k.startswith("module.") else k: v for k, v in sd.items()})
    net.eval().requires_grad_(False)
    net.update(force=True)
    text = torch.from_numpy(safetensors_io.read(ref / "img1_128x192.safetensors")["text_embeddings"])

    # Record what the coder sees (wrappers on this instance only; no official code is changed).
    seen = {"y": [], "z": [], "scales": [], "y_near_index": [], "y_near_distance": [], "y_count": 0}
    gc, eb = net.gaussian_conditional, net.entropy_bottleneck
    gq, eq, gbi = gc.quantize, eb.quantize, gc.build_indexes

    def g_quantize(inputs, mode, means=None):
        if mode == "symbols":
            # quantize() rounds (inputs - means) in float32; the symbols are appended in this flattened order.
            d = (inputs - means).double().flatten()
            dist = (0.5 - (d - torch.round(d)).abs()).abs()
            near = torch.nonzero(dist < Y_TIE_STORE_BAND).flatten()
            seen["y_near_index"].append(near + seen["y_count"])
            seen["y_near_distance"].append(dist[near])
            seen["y_count"] += d.numel()
            seen["y"].append(float(dist.min()))
        return gq(inputs, mode, means)

    def e_quantize(inputs, mode, means=None):
        if mode == "symbols":
            seen["z"].append(tie_distance(inputs, means))
        return eq(inputs, mode, means)

    def build_indexes(scales):
        s = scales.double().flatten()
        s = s[s > 0.11]
        table = gc.scale_table.double()
        if s.numel():
            seen["scales"].append(float((s.log()[:, None] - table.log()[None, :]).abs().min()))
        return gbi(scales)

    gc.quantize, eb.quantize, gc.build_indexes = g_quantize, e_quantize, build_indexes

    # 1. Input image.
    rgb = build_mosaic(a.kodak)
    png = out / f"{NAME}.png"
    Image.fromarray(rgb).save(png, optimize=True)
    assert np.array_equal(np.asarray(Image.open(png)), rgb)
    seen.update({"y": [], "z": [], "scales": [], "y_near_index": [], "y_near_distance": [], "y_count": 0})

    # 3. Encode as the official evaluation: ToTensor, pad to 64, compress, write .bin.
    x = torch.from_numpy(rgb).permute(2, 0, 1).float().div(255).unsqueeze(0)
    with torch.no_grad():
        enc = net.compress(pad64(x), text)
    binf = out / f"{NAME}.bin"
    with open(binf, "wb") as f:
        write_uints(f, (HEIGHT, WIDTH))
        write_body(f, enc["shape"], enc["strings"])

    # 4. Decode the written file.
    with open(binf, "rb") as f:
        size = read_uints(f, 2)
        strings, shape = read_body(f)
    with torch.no_grad():
        x_hat = net.decompress(strings, shape)["x_hat"][:, :, :size[0], :size[1]]
    x_hat = x_hat[0].contiguous()
    u8 = torch.round(x_hat.clamp(0, 1) * 255).to(torch.uint8)
    Image.fromarray(u8.permute(1, 2, 0).numpy()).save(out / f"{NAME}.x_hat.png", optimize=True)

    # 5. Samples near a rounding midpoint, with their float value.
    level = x_hat.clamp(0, 1).double() * 255
    from_mid = (level - level.floor() - 0.5).abs() / 255
    near = torch.nonzero(from_mid.flatten() <= TIE_STORE_BAND).flatten()
    flat = x_hat.flatten()
    mse = float(((x_hat.clamp(0, 1) - x[0]) ** 2).mean())
    y_bytes, z_bytes = len(enc["strings"][0][0]), len(enc["strings"][1][0])
    info = {
        "image": NAME, "bin_sha256": hashlib.sha256(binf.read_bytes()).hexdigest(), "H": HEIGHT, "W": WIDTH, "padded_hw": list(pad64(x).shape[-2:]),
        "mosaic": MOSAIC, "tile_hw": [TILE_H, TILE_W], "crop_top_left": [(512 - TILE_H) // 2, (768 - TILE_W) // 2],
        "input_png_rgb_sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
        "x_hat_u8_sha256": hashlib.sha256(u8.permute(1, 2, 0).contiguous().numpy().tobytes()).hexdigest(),
        "text": "img1_128x192.safetensors text_embeddings",
        "z_shape": list(enc["shape"]), "y_string_bytes": y_bytes, "z_string_bytes": z_bytes,
        "bin_bytes": binf.stat().st_size, "bpp": 8.0 * (y_bytes + z_bytes) / (HEIGHT * WIDTH),
        "psnr_db": -10 * np.log10(mse) if mse > 0 else None,
        "y_min_distance_to_rounding_boundary": min(seen["y"]),
        "z_min_distance_to_rounding_boundary": min(seen["z"]),
        "min_abs_log_distance_unclamped_scale_to_table": min(seen["scales"]) if seen["scales"] else None,
        "tie_store_band": TIE_STORE_BAND, "n_stored_near_midpoint": int(near.numel()),
        "x_hat_min": float(flat.min()), "x_hat_max": float(flat.max()),
    }
    y_index = torch.cat(seen["y_near_index"]).to(torch.int32)
    y_dist = torch.cat(seen["y_near_distance"]).float()
    info["n_y_symbols"] = seen["y_count"]
    info["y_tie_store_band"] = Y_TIE_STORE_BAND
    info["n_y_near_tie"] = int(y_index.numel())
    import compressai.version as cv

    meta = {
        "info": json.dumps(info), "compressai_version": compressai.__version__, "compressai_commit": cv.git_version,
        "taco_commit": subprocess.run(["git", "-C", str(Path(sys.modules["models"].__file__).parent.parent),
                                       "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "torch_version": torch.__version__, "numpy_version": np.__version__, "python": sys.version.split()[0],
    }
    safetensors_io.write(out / f"{NAME}.ties.safetensors",
                      {"x_hat.index": near.to(torch.int32).numpy(), "x_hat.value": flat[near].numpy().astype("<f4"),
                       "y.index": y_index.numpy(), "y.distance": y_dist.numpy().astype("<f4")}, meta)
    print(json.dumps({**info, **{k: v for k, v in meta.items() if k != "info"}}, indent=1))


if __name__ == "__main__":
    main()
