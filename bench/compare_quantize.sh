#!/bin/sh
# compare_quantize.sh [OUTDIR] - seek quantize against a llama.cpp-family llama-quantize on the
# same F16 files, tensor by tensor (types and bytes), for every mixture and plain type.
#
#   IK=/work/ik/build/bin   where llama-quantize is (built from source outside the repo)
#   SEEK=./seek
# The inputs are the small synth models of tests/cli/test_quantize.sh (row lengths that divide
# like R1-Distill-Qwen-1.5B's and DeepSeek-V2-Lite's). Prints one summary line per run; the
# per-tensor differences are in OUTDIR/*.cmp. For deeper models, where writing both files takes
# long, bench/compare_quantize_plan.py compares the two tools' --dry-run type choices.
set -u
IK=${IK:-/work/ik/build/bin}
SEEK=${SEEK:-./seek}
OUT=${1:-/tmp/seek-compare-quantize}
HERE=$(dirname "$0")
mkdir -p "$OUT"
[ -x "$IK/llama-quantize" ] || { echo "no $IK/llama-quantize" >&2; exit 1; }

"$SEEK" synth --shape r1-distill-qwen-1.5b --layers 2 --vocab 512 --ff 512 -o "$OUT/qwen.gguf" --quiet
"$SEEK" synth --shape deepseek-v2-lite --layers 2 --vocab 512 --ff 320 --ff-exp 384 --experts 8 --heads 4 \
    -o "$OUT/v2.gguf" --quiet

# TYPE for seek : ftype name for llama-quantize : extra flags
runs="Q2_K:Q2_K: Q3_K_M:Q3_K_M: Q4_K_S:Q4_K_S: Q4_K_M:Q4_K_M: Q5_K_S:Q5_K_S: Q5_K_M:Q5_K_M: Q6_K:Q6_K:
Q4_0:Q4_0: Q4_1:Q4_1: Q5_0:Q5_0: Q5_1:Q5_1: Q8_0:Q8_0: F16:F16: BF16:BF16:
Q2_K:Q2_K:--pure Q3_K:Q3_K_S:--pure Q4_K:Q4_K_S:--pure Q5_K:Q5_K_S:--pure Q6_K:Q6_K:--pure"
for model in qwen v2; do
    for r in $runs; do
        st=${r%%:*}; rest=${r#*:}; lt=${rest%%:*}; fl=${rest#*:}
        tag="$model-$st${fl:+-pure}"
        "$SEEK" quantize "$OUT/$model.gguf" "$OUT/$tag.seek.gguf" "$st" $fl --quiet || { echo "$tag: seek failed"; continue; }
        "$IK/llama-quantize" $fl "$OUT/$model.gguf" "$OUT/$tag.ik.gguf" "$lt" 2 >"$OUT/$tag.ik.log" 2>&1 ||
            { echo "$tag: llama-quantize failed (see $OUT/$tag.ik.log)"; continue; }
        /usr/bin/python3 "$HERE/compare_quantize.py" "$OUT/$tag.seek.gguf" "$OUT/$tag.ik.gguf" >"$OUT/$tag.cmp"
        echo "$tag: $(tail -1 "$OUT/$tag.cmp")"
        rm -f "$OUT/$tag.seek.gguf" "$OUT/$tag.ik.gguf"
    done
done
