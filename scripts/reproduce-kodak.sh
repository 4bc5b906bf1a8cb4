#!/usr/bin/env bash
# Reproduces the paper's Kodak evaluation (24 images, OFA captions) with TACO's official checkpoints, plus the JPEG
# baseline and the published ELIC/VTM points. Usage: scripts/reproduce-kodak.sh [extra `taco eval` options]
# Inputs (overridable): models/taco/*.pth.tar (TACO_CHECKPOINTS), models/clip-vit-base-patch32 (TACO_CLIP_DIR),
# models/lpips, models/pt_inception-*.pth, models/clip-vit-large-patch14-336, KODAK_DIR, KODAK_CAPTIONS, OUT.
# Interrupted? Run the same command again with --resume: it checks that nothing changed (run.json) and computes
# only the missing images. See docs/benchmarks.md.
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/reproduce-common.sh"
kodak="${KODAK_DIR:?set KODAK_DIR to the folder of the 24 Kodak images (kodim01.png ... kodim24.png)}"
captions="${KODAK_CAPTIONS:-$captions_dir/kodak_ofa.json}"
out="${OUT:-$root/out/kodak}"
need_dir "$kodak" "Kodak folder (kodim01.png ... kodim24.png; set KODAK_DIR)"
need_file "$captions" "Kodak OFA captions (TACO materials/kodak_ofa.json; set KODAK_CAPTIONS)"
collect_models
run_eval "${model_args[@]}" --dataset "$kodak" --dataset-name kodak --captions "$captions" \
  --out "$out" "$@"
