#!/bin/sh
# Hostile checkpoints and command lines that once crashed or misbehaved under ASan/UBSan
# (issue 13): each must now give one clear "seek: ..." line, a non-zero exit, and finish fast.
. tests/cli/lib.sh
H=tests/data/hf
mk() { rm -rf "$TMP/$1"; mkdir -p "$TMP/$1"; cp "$H/$2/config.json" "$H/$2/model.safetensors" "$TMP/$1/"; }
edit() {  # edit DIR PYTHON-STATEMENTS-ON-c   (c = the config dict)
    /usr/bin/python3 -c "import json,sys; p=sys.argv[1]+'/config.json'; c=json.load(open(p)); $2; json.dump(c,open(p,'w'))" "$1"
}

# 1. weight_map entry that is not a string: the message used the key after its JSON was freed
mk wmap deepseek-v3-tiny; echo '{"weight_map":{"a":1}}' >"$TMP/wmap/model.safetensors.index.json"
expect_error weight_map_not_string "weight_map\['a'\] is not a file name" "$SEEK" convert "$TMP/wmap" -o "$TMP/o.gguf"

# 2. FP8 block size 2^32: was cast to int (0), passed the >= 1 check, divided by zero
rm -rf "$TMP/fp8"; cp -r tests/data/fp8/ckpt "$TMP/fp8"
edit "$TMP/fp8" "c['quantization_config']['weight_block_size']=[4294967296,128]"
expect_error fp8_block_size_2_32 "weight_block_size' must be two integers in \[1, " "$SEEK" convert "$TMP/fp8" -o "$TMP/o.gguf"

# 3. qk_nope_head_dim + qk_rope_head_dim = 2^31: signed overflow adding the head size
mk heads deepseek-v3-tiny; edit "$TMP/heads" "c['qk_nope_head_dim']=2**30; c['qk_rope_head_dim']=2**30"
expect_error head_dims_2_30 "qk_nope_head_dim = 1073741824 exceeds the limit" "$SEEK" convert "$TMP/heads" -o "$TMP/o.gguf"
mk heads2 deepseek-v3-tiny; edit "$TMP/heads2" "c['num_attention_heads']=65536; c['num_key_value_heads']=65536; c['qk_nope_head_dim']=65000"
expect_error head_product "num_attention_heads \* \(qk_nope_head_dim \+ qk_rope_head_dim\) = [0-9]+ exceeds the limit" "$SEEK" convert "$TMP/heads2" -o "$TMP/o.gguf"
# llama3 rope with head_dim 2^30: spent 16 s and 2 GB on frequency factors before any shape check
mk l3 llama-tiny; edit "$TMP/l3" "c['head_dim']=2**30; c['rope_scaling']={'rope_type':'llama3','factor':8.0,'original_max_position_embeddings':64}"
start=$(date +%s)
expect_error llama3_head_dim_2_30 "head_dim = 1073741824 exceeds the limit" "$SEEK" convert "$TMP/l3" -o "$TMP/o.gguf"
# a config implying far more weights than the shards hold is refused before converting
mk big llama-tiny; edit "$TMP/big" "c['vocab_size']=2**24"
expect_error weights_exceed_checkpoint "implies [0-9]+ weights but the checkpoint's tensors hold only [0-9]+ bytes" "$SEEK" convert "$TMP/big" -o "$TMP/o.gguf"
if [ $(( $(date +%s) - start )) -le 5 ]; then ok hostile_configs_fast; else fail hostile_configs_fast "took $(( $(date +%s) - start )) s"; fi

# config values that become 0 or inf in float32 are refused at convert time
mk eps llama-tiny; edit "$TMP/eps" "c['rms_norm_eps']=1e-300"
expect_error eps_underflows_f32 "field 'rms_norm_eps' = 1e-300 does not fit in float32" "$SEEK" convert "$TMP/eps" -o "$TMP/o.gguf"
mk rf deepseek-v3-tiny; edit "$TMP/rf" "c['rope_parameters']['factor']=1e300"
expect_error rope_factor_inf_f32 "field 'rope_scaling.factor' = 1e\+300 does not fit in float32" "$SEEK" convert "$TMP/rf" -o "$TMP/o.gguf"
mk rs deepseek-v3-tiny; edit "$TMP/rs" "c['routed_scaling_factor']=1e39"
expect_error routed_scale_inf_f32 "field 'routed_scaling_factor' = 1e\+39 does not fit in float32" "$SEEK" convert "$TMP/rs" -o "$TMP/o.gguf"

# 5. an empty --tokens list leaked the id array
expect_ok convert_v2 "$SEEK" convert "$H/deepseek-v2-lite-tiny" -o "$TMP/v2.gguf" --type f32
expect_error logits_empty_tokens "--tokens is empty" "$SEEK" logits -m "$TMP/v2.gguf" --tokens '' -o "$TMP/x.f32"
