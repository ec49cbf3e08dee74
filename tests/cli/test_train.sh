# seek train / tokenizer-train end to end, in seconds: synthetic data, a BPE tokenizer,
# token files, a tiny MLA + MoE + MTP model trained for 40 steps (the loss must fall),
# the exported GGUF loads and generates, --resume continues, and bad input is refused.
. tests/cli/lib.sh
PY=/usr/bin/python3
D=$TMP/tr

$PY scripts/gen_arith.py --out "$D" --n 600 --seed 3 --test 5 >/dev/null 2>&1 || { fail gen_arith "generator failed"; exit 0; }
expect_ok tokenizer_train "$SEEK" tokenizer-train -f "$D/train.txt" --vocab 300 -o "$D/tokenizer.json" \
    --chat-template tests/data/chat/deepseek-r1-distill-qwen.jinja
expect_out tokenizer_train_reports "300 tokens"
expect_ok prepare "$SEEK" train prepare --tokenizer "$D/tokenizer.json" -f "$D/train.txt" -o "$D/tok" --val-every 10
expect_out prepare_reports "tok.val.bin: [0-9]+ tokens"

cat >"$D/cfg.json" <<'EOF'
{"model": {"n_embd": 32, "n_layer": 2, "n_dense_lead": 1, "n_head": 2, "q_lora_rank": 24, "kv_lora_rank": 16,
           "qk_nope_head_dim": 8, "qk_rope_head_dim": 8, "v_head_dim": 8, "ffn": 64,
           "n_expert": 4, "n_expert_used": 2, "n_shared_expert": 1, "expert_ffn": 16, "mtp": 1, "context": 128},
 "data": {"tokenizer": "tokenizer.json", "train": "tok.train.bin", "val": "tok.val.bin"},
 "train": {"batch": 4, "seq": 64, "steps": 40, "lr": 5e-3, "warmup": 5, "eval_every": 20, "eval_batches": 2,
           "ckpt_every": 20, "log_every": 10, "seed": 2},
 "out": {"dir": "run", "gguf": "tiny.gguf", "name": "tiny"}}
EOF
expect_ok train_runs "$SEEK" train --config "$D/cfg.json" -t 1
if grep -qE '^step 40/40 \| loss .* \| val [0-9.]+ \| .* tok/s \| load max/min [0-9.]+ \| ETA' "$TMP/err"; then ok progress_line
else fail progress_line "$(tail -c 300 "$TMP/err")"; fi
if grep -qE '^  expert load blk\.1: [0-9.]+% [0-9.]+% [0-9.]+% [0-9.]+%$' "$TMP/err" && grep -q 'expert load blk.2 (MTP)' "$TMP/err"; then ok expert_load_logged
else fail expert_load_logged "$(grep expert "$TMP/err" | head -3)"; fi
# the loss falls: mean of the last 5 logged steps well below the first
if awk 'NR<=3{a+=$2;na++} {l[NR]=$2} END{for(i=NR-4;i<=NR;i++){b+=l[i];nb++}; exit !(b/nb < 0.7*a/na)}' "$D/run/log.tsv"
then ok loss_falls; else fail loss_falls "$(head -n 2 "$D/run/log.tsv") ... $(tail -n 2 "$D/run/log.tsv")"; fi
if grep -q '<svg' "$D/run/loss.svg" && grep -q 'polyline' "$D/run/loss.svg"; then ok loss_plot; else fail loss_plot "no SVG"; fi

# the GGUF: deepseek2 with the MTP block as blk.2.nextn.*, loads and generates
expect_ok info "$SEEK" info "$D/tiny.gguf"
expect_out info_nextn "nextn_predict_layers"
expect_ok run_generates "$SEEK" run -m "$D/tiny.gguf" -p "What is 12 + 30?" -n 12 --temp 0
if [ -s "$TMP/out" ]; then ok run_output; else fail run_output "empty"; fi

# --resume from the step-40 checkpoint with more steps configured continues from 40
sed 's/"steps": 40/"steps": 44/' "$D/cfg.json" >"$D/cfg2.json"
cp -r "$D/run" "$D/run2"
sed -i 's/"dir": "run"/"dir": "run2"/' "$D/cfg2.json"
expect_ok resume "$SEEK" train --config "$D/cfg2.json" --resume -t 1
if grep -q '^step 41/44' "$TMP/err" && [ "$(wc -l <"$D/run2/log.tsv")" -eq 44 ]; then ok resume_continues
else fail resume_continues "$(head -c 300 "$TMP/err")"; fi

# bad input
expect_error no_config "config" "$SEEK" train
printf '{"model": {"n_embd": 32}, "data": {"tokenizer": "tokenizer.json", "train": "nope.bin", "val": "nope.bin"}}' >"$D/bad.json"
expect_error missing_data "nope.bin" "$SEEK" train --config "$D/bad.json"
printf '{"model": {"n_expert_used": 9, "n_expert": 4}, "data": {"tokenizer": "tokenizer.json", "train": "tok.train.bin", "val": "tok.val.bin"}}' >"$D/bad2.json"
expect_error bad_moe "n_expert" "$SEEK" train --config "$D/bad2.json"
printf '{"model": ' >"$D/bad3.json"
expect_error bad_json "bad3.json" "$SEEK" train --config "$D/bad3.json"
expect_error resume_without_checkpoint "checkpoint.bin" "$SEEK" train --config "$D/bad2.json" --resume
expect_error tokenizer_small_vocab "vocab" "$SEEK" tokenizer-train -f "$D/train.txt" --vocab 100 -o "$D/t2.json"
expect_error tokenizer_missing_file "nope.txt" "$SEEK" tokenizer-train -f "$D/nope.txt" --vocab 400 -o "$D/t2.json"
