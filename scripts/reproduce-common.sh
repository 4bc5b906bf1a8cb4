# Shared by scripts/reproduce-*.sh (sourced, not run). Finds the weights in models/ (docs/weights.md), checks every
# input with a clear message, and never downloads anything.
set -euo pipefail
here="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
root="$(dirname "$here")"
models="${TACO_MODELS:-$root/models}"
captions_dir="$root/taco-test-fixtures/src/test/resources/data/captions"   # TACO's own caption lists (materials/), carried by the repository

die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

need_file() { [ -f "$1" ] || die "$2 not found: $1"; }
need_dir() { [ -d "$1" ] || die "$2 not found: $1"; }

# Sets the array `model_args`: the official checkpoints (one rate point each; TACO_CHECKPOINTS overrides the
# models/taco/*.pth.tar glob), CLIP ViT-B/32 (required: without it the captions cannot reach the encoder and this would
# not be the paper's run), and the metric weights (each one missing only skips that metric, which the run's
# summary.json / summary.md then say).
collect_models() {
  local list=()
  if [ -n "${TACO_CHECKPOINTS:-}" ]; then
    read -r -a list <<<"$TACO_CHECKPOINTS"
  else
    shopt -s nullglob
    list=("$models"/taco/*.pth.tar "$models"/taco/*.safetensors)
    shopt -u nullglob
  fi
  [ "${#list[@]}" -gt 0 ] || die "no TACO checkpoints in $models/taco/ (put the official *.pth.tar there, see docs/weights.md, or set TACO_CHECKPOINTS)"
  for c in "${list[@]}"; do need_file "$c" "checkpoint"; done
  model_args=(--weights "${list[@]}")

  local clip="${TACO_CLIP_DIR:-$models/clip-vit-base-patch32}"
  need_dir "$clip" "CLIP ViT-B/32 (TACO's caption encoder; set TACO_CLIP_DIR)"
  model_args+=(--clip "$clip")

  local lpips="${TACO_LPIPS:-$models/lpips}"
  local inception="${TACO_INCEPTION:-$models/pt_inception-2015-12-05-6726825d.pth}"
  local cmmd="${TACO_CMMD_CLIP:-$models/clip-vit-large-patch14-336}"
  if [ -e "$lpips" ]; then model_args+=(--lpips-weights "$lpips"); else echo "warning: no LPIPS weights at $lpips: LPIPS skipped" >&2; fi
  if [ -e "$inception" ]; then model_args+=(--inception "$inception"); else echo "warning: no FID Inception weights at $inception: FID skipped" >&2; fi
  if [ -e "$cmmd" ]; then model_args+=(--cmmd-clip "$cmmd"); else echo "warning: no CMMD CLIP at $cmmd: CMMD skipped" >&2; fi
}

run_eval() {
  [ -x "$root/scripts/taco" ] || die "scripts/taco missing"
  echo "+ scripts/taco eval $*" >&2
  exec "$root/scripts/taco" eval "$@"
}
