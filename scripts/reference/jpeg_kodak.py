#!/usr/bin/env python3
"""JPEG reference points on the Kodak images the tests carry, made as CompressAI's JPEG baseline makes them.

CompressAI's published Kodak JPEG curve (results/image/kodak/jpeg.json) averages all 24 images; the repository carries
only some of them, so this writes the same measurement per image: Pillow (libjpeg) at the given quality with its
defaults (standard tables, 4:2:0), bpp = 8 * file bytes / (W * H), PSNR over the RGB samples with peak 255 of the
Pillow decode.

    /usr/bin/python3 scripts/reference/jpeg_kodak.py <kodak folder> <out.json> [quality=10]

Needs Debian's python3-pil and python3-numpy.
"""
import io
import json
import math
import os
import sys

import numpy as np
import PIL
from PIL import Image


def main(folder, out, quality):
    rows = {}
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".png")):
        img = Image.open(os.path.join(folder, name)).convert("RGB")
        buf = io.BytesIO()
        img.save(buf, "jpeg", quality=quality)
        data = buf.getvalue()
        dec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)
        mse = np.mean((np.asarray(img, dtype=np.float64) - dec) ** 2)
        rows[name] = {"bytes": len(data), "bpp": 8.0 * len(data) / (img.width * img.height),
                      "psnr_rgb": 10 * math.log10(255.0 ** 2 / mse)}
    with open(out, "w") as f:
        json.dump({"quality": quality, "pillow": PIL.__version__, "images": rows}, f, indent=1)
        f.write("\n")
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 10)
