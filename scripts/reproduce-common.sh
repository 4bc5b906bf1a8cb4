# Shared by scripts/reproduce-*.sh (sourced, not run). Finds the weights in models/ (docs/weights.md) and checks every
# input with a clear message. It downloads nothing unless asked: with TACO_FETCH=1, the public weights missing from
# their default places are first fetched (and checked) by ONE `scripts/taco fetch GROUP... --out models/ $TACO_FETCH_OPTS`
# (e.g. TACO_FETCH_OPTS=--print-sha256, or --expect-sha256 NAME=HEX for the files without a pinned hash, --mirror URL).
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

# The `taco fetch` groups whose default place is missing (a path overridden by its environment variable is the
# user's own and never fetched).
missing_groups() {
  [ -n "${TACO_CLIP_DIR:-}" ] || [ -d "$models/clip-vit-base-patch32" ] || echo clip-vit-base-patch32
  [ -n "${TACO_LPIPS:-}" ] || [ -e "$models/lpips" ] || echo lpips
  [ -n "${TACO_INCEPTION:-}" ] || [ -e "$models/pt_inception-2015-12-05-6726825d.pth" ] || echo fid-inception
  [ -n "${TACO_CMMD_CLIP:-}" ] || [ -e "$models/clip-vit-large-patch14-336" ] || echo clip-vit-large-patch14-336
}

# With TACO_FETCH=1: fetches what missing_groups lists, in one command (so --expect-sha256 NAME=HEX options of
# TACO_FETCH_OPTS cover every file). Without it: says which command would.
fetch_missing() {
  local groups
  read -r -a groups <<<"$(missing_groups | tr '\n' ' ')"
  [ "${#groups[@]}" -gt 0 ] || return 0
  if [ "${TACO_FETCH:-0}" = 1 ]; then
    local opts
    read -r -a opts <<<"${TACO_FETCH_OPTS:-}"
    echo "+ scripts/taco fetch ${groups[*]} --out $models ${opts[*]}" >&2
    "$root/scripts/taco" fetch "${groups[@]}" --out "$models" "${opts[@]}" >/dev/null \
      || die "taco fetch failed (see the line above); set TACO_FETCH_OPTS, e.g. TACO_FETCH_OPTS=--print-sha256"
  else
    echo "note: missing from $models: ${groups[*]}; fetch them with: scripts/taco fetch ${groups[*]} --print-sha256" \
      "(or rerun with TACO_FETCH=1 TACO_FETCH_OPTS=...; docs/weights.md)" >&2
  fi
}

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
  [ "${#list[@]}" -gt 0 ] || die "no TACO checkpoints in $models/taco/ (download the official *.pth.tar from the Google Drive folder that \`scripts/taco fetch --list taco-checkpoints\` shows, see docs/weights.md, or set TACO_CHECKPOINTS)"
  for c in "${list[@]}"; do need_file "$c" "checkpoint"; done
  model_args=(--weights "${list[@]}")
  fetch_missing

  local clip="${TACO_CLIP_DIR:-$models/clip-vit-base-patch32}"
  need_dir "$clip" "CLIP ViT-B/32 (TACO's caption encoder; scripts/taco fetch clip-vit-base-patch32, or set TACO_CLIP_DIR)"
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
