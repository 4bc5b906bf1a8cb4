#!/usr/bin/env bash
# Reproduces the paper's MS-COCO 30k evaluation: the 30,504 val2014 images of TACO's mscoco_30k_list.json, center
# cropped to 256x256 (override with --coco-preprocess resize-crop|none), one COCO caption each (smallest annotation
# id), FID and CMMD over the set. Usage:
#   COCO_VAL2014=/data/coco/val2014 COCO_CAPTIONS=/data/coco/annotations/captions_val2014.json \
#     scripts/reproduce-coco30k.sh [extra `taco eval` options]
# Interrupted? Run the same command again with --resume: it checks that nothing changed (run.json) and computes
# only the missing images. See docs/benchmarks.md.
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/reproduce-common.sh"
[ -n "${COCO_VAL2014:-}" ] || die "set COCO_VAL2014 to the MS-COCO val2014 image folder"
[ -n "${COCO_CAPTIONS:-}" ] || die "set COCO_CAPTIONS to COCO's annotations/captions_val2014.json"
list="${COCO_LIST:-$captions_dir/mscoco_30k_list.json}"
out="${OUT:-$root/out/coco30k}"
need_dir "$COCO_VAL2014" "COCO val2014 folder"
need_file "$COCO_CAPTIONS" "COCO captions file"
need_file "$list" "MS-COCO 30k list (TACO materials/mscoco_30k_list.json; set COCO_LIST)"
collect_models
run_eval "${model_args[@]}" --dataset "$COCO_VAL2014" --dataset-name coco30k --captions "$COCO_CAPTIONS" \
  --coco-list "$list" --out "$out" "$@"
