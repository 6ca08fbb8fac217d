#!/usr/bin/env bash
# Train the student shipped in the package (src/skelkd/resources/models/penn_action.ckpt)
# from the embedded Penn Action pack, then write it and its model card:
#   1. the teacher on the human-annotated joints, with the reproduction's teacher recipe
#      (skelkd.reproduce.plan.Protocol.teacher_overrides, 30 epochs, fair.yaml's input
#      augmentation: the student's extra augmentation is the student's);
#   2. the student (configs/penn_video.yaml) at each seed of SEEDS (default 0 1 2 3 4),
#      each in RUNS/seedS/penn_video, distilled from that one teacher; with OUTLIERS=PACK
#      (actions outside Penn Action's: skelkd data import utd_mhad
#      ../shared/data/utd_mhad/Skeleton utd.skpack, as the shipped model was trained),
#      with outlier exposure on its classes other than those of OUTLIER_EXCLUDE (default:
#      the ones close to a Penn Action class), docs/outlier_exposure.md;
#   3. scripts/ship_model.py: the students' weights as one seed ensemble (the mean of their
#      class probabilities: docs/seed_ensemble.md), the "no known action" threshold from
#      the validation clips, docs/model_card.md; with UNKNOWN=PACK (a pack of other
#      actions: skelkd data import nw_ucla ../shared/data/nw_ucla ucla.skpack), the card
#      also says how many of its clips the threshold lets through.
# About 10 minutes per seed on 2 CPU cores. Then `python benchmarks/real_video.py FOLDER` measures
# it on real clips (the video extra), and `python scripts/ship_model.py --card docs/model_card.md
# --card-only` quotes that in the card (the shipped file records its recipe: no runs needed).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-runs}
skelkd train teacher penn_video --runs "$runs" --set train.epochs=30 \
  --set train.batch_size=16 --set train.class_aware=false --set train.optim.nesterov=true \
  --set train.optim.warmup_epochs=5 --set "train.optim.milestones=[0.7692308]" \
  --set input.rotate_deg=10 --set input.flip_prob=0 --set "input.crop_range=[1,1]"
students=()
for seed in ${SEEDS:-0 1 2 3 4}; do
  skelkd train student penn_video --runs "$runs/seed$seed" --teacher "$runs/penn_video/teacher" \
    --set train.seed="$seed" ${OUTLIERS:+--set data.outliers="$OUTLIERS" \
    --set "data.outlier_exclude=${OUTLIER_EXCLUDE:-[throw,bowling,baseball,tennis,squat]}"}
  students+=("$runs/seed$seed/penn_video/student-pmsc-op0.3")
done
python scripts/ship_model.py "${students[@]}" --card docs/model_card.md \
  ${UNKNOWN:+--unknown "$UNKNOWN"}
