#!/usr/bin/env bash
# Train the zoo recipes one after another into logs/zoo/<recipe>/ (the runs that made the shipped weights).
#   scripts/train_zoo.sh fsrcnn_x3 espcn_x3 ...      # default: every recipe of conf/experiment/zoo
# Several copies may run at once (e.g. one per core with THREADS=1): each recipe is claimed by one of
# them. A finished run is skipped. Then `python scripts/zoo_weights.py` packs the weights.
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_ALBUMENTATIONS_UPDATE=1 OMP_NUM_THREADS="${THREADS:-$(nproc)}"
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=($(ls conf/experiment/zoo | grep -v '^_' | sed 's/\.yaml$//'))
mkdir -p logs/zoo
for name in "${recipes[@]}"; do
  mkdir "logs/zoo/.claim-$name" 2>/dev/null || continue   # another copy has it
  [ -f "logs/zoo/$name/metrics.json" ] && continue
  echo "$(date -u +%FT%TZ) start $name (threads $OMP_NUM_THREADS)"
  start=$(date +%s)
  .venv/bin/python train.py "experiment=zoo/$name" "hydra.run.dir=logs/zoo/$name" > "logs/zoo/$name.out" 2>&1
  echo "$(date -u +%FT%TZ) end $name: exit $?, $(( $(date +%s) - start )) s"
done
