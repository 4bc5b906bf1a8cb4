#!/usr/bin/env bash
# Reproduces the paper's CLIC evaluation: the 428 images named in TACO's clic_ofa.json (CLIC images are not shipped;
# get them from compression.cc) with their OFA captions. Usage: CLIC_DIR=/data/clic scripts/reproduce-clic.sh [extra]
# Interrupted? Run the same command again with --resume: it checks that nothing changed (run.json) and computes
# only the missing images. See docs/benchmarks.md.
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/reproduce-common.sh"
[ -n "${CLIC_DIR:-}" ] || die "set CLIC_DIR to the folder holding the CLIC images named in clic_ofa.json"
captions="${CLIC_CAPTIONS:-$captions_dir/clic_ofa.json}"
out="${OUT:-$root/out/clic}"
need_dir "$CLIC_DIR" "CLIC folder"
need_file "$captions" "CLIC OFA captions (TACO materials/clic_ofa.json; set CLIC_CAPTIONS)"
collect_models
run_eval "${model_args[@]}" --dataset "$CLIC_DIR" --dataset-name clic --captions "$captions" \
  --out "$out" "$@"
