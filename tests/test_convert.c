/* test_convert.c - seek convert's output: FP8 block-scaled weights dequantized to the
 * values NumPy computed independently (tests/data/fp8/make_fp8.py), multi-shard input
 * with an index, and the GGUF names / metadata / layout conventions of the ecosystem. */
#include <sys/stat.h>
#include <unistd.h>

#include "convert.h"
#include "gguf.h"
#include "safetensors.h"
#include "test.h"

static char tmpdir[64];

static const char *out_path(const char *name) {
    static char p[256];
    snprintf(p, sizeof p, "%s/%s.gguf", tmpdir, name);
    return p;
}

/* Compare n floats of GGUF tensor `gname` (from element `off`) with expected.<hname>.f32. */
static int same_as_expected(const gguf_file *g, const char *gname, size_t off, const char *hname, size_t n) {
    const gguf_tensor *t = gguf_find_tensor(g, gname);
    if (!t || t->type != SEEK_TYPE_F32) return 0;
    char p[256];
    snprintf(p, sizeof p, "tests/data/fp8/expected.%s.f32", hname);
    float *e = read_f32(p, n);
    if (!e) return 0;
    const float *d = (const float *)t->data + off;
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        if (fabsf(d[i] - e[i]) > 1e-6f * fabsf(e[i])) { ok = 0; break; }
    free(e);
    return ok;
}

TEST(fp8_block_scaled_weights) {
    convert_opts o = {.type = SEEK_TYPE_F32};
    CHECK_MSG(convert_hf("tests/data/fp8/ckpt", out_path("fp8"), &o) == 0, "%s", seek_last_error());
    gguf_file *g = gguf_open(out_path("fp8"));
    CHECK(g);
    CHECK(same_as_expected(g, "blk.1.attn_q_b.weight", 0, "model.layers.1.self_attn.q_b_proj.weight", 96 * 48));
    CHECK(same_as_expected(g, "blk.1.attn_kv_a_mqa.weight", 0, "model.layers.1.self_attn.kv_a_proj_with_mqa.weight", 40 * 64));
    CHECK(same_as_expected(g, "blk.2.attn_output.weight", 0, "model.layers.2.self_attn.o_proj.weight", 64 * 64));
    /* expert 3 of the stacked [8][64][32] down projection */
    CHECK(same_as_expected(g, "blk.2.ffn_down_exps.weight", 3 * 64 * 32, "model.layers.2.mlp.experts.3.down_proj.weight", 64 * 32));
    /* a BF16 tensor from the other shard */
    const gguf_tensor *t = gguf_find_tensor(g, "blk.0.ffn_up.weight");
    CHECK(t && t->ne[0] == 64 && t->ne[1] == 128);
    gguf_close(g);
}

TEST(fp8_without_scale_is_an_error) {
    /* a checkpoint dir whose FP8 shard lacks the scales: index pointing at a shard we write */
    char dir[128];
    snprintf(dir, sizeof dir, "%s/noscale", tmpdir);
    CHECK(mkdir(dir, 0700) == 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cp tests/data/fp8/ckpt/config.json tests/data/fp8/ckpt/model-00001-of-00002.safetensors %s/ && "
             "/usr/bin/python3 - %s <<'EOF'\n"
             "import json,struct,sys\n"
             "raw=open('tests/data/fp8/ckpt/model-00002-of-00002.safetensors','rb').read()\n"
             "n=struct.unpack('<Q',raw[:8])[0]; h=json.loads(raw[8:8+n]); d=raw[8+n:]\n"
             "h={k.replace('_scale_inv','_scale_gone'):v for k,v in h.items()}\n"
             "hb=json.dumps(h).encode(); hb+=b' '*(-len(hb)%%8)\n"
             "open(sys.argv[1]+'/model-00002-of-00002.safetensors','wb').write(struct.pack('<Q',len(hb))+hb+d)\n"
             "EOF",
             dir, dir);
    /* a setup that cannot run is a failure, never a pass: /usr/bin/python3 is a build dependency */
    CHECK_MSG(system(cmd) == 0, "setup failed: cannot write the test checkpoint (%s)", cmd);
    convert_opts o = {.type = SEEK_TYPE_F32};
    CHECK(convert_hf(dir, out_path("noscale"), &o) == -1);
    CHECK_MSG(strstr(seek_last_error(), "has no 'model.layers.1.self_attn.q_b_proj.weight_scale_inv'"), "%s",
              seek_last_error());
}

static uint32_t u32(const gguf_file *g, const char *k) {
    uint32_t v = 0xFFFFFFFF;
    gguf_get_u32(g, k, &v);
    return v;
}

TEST(deepseek2_metadata) {
    convert_opts o = {.type = SEEK_TYPE_F16};
    CHECK_MSG(convert_hf("tests/data/hf/deepseek-v2-lite-tiny", out_path("v2"), &o) == 0, "%s", seek_last_error());
    gguf_file *g = gguf_open(out_path("v2"));
    CHECK(g);
    char *a = gguf_get_string(g, "general.architecture");
    CHECK_STR(a, "deepseek2");
    free(a);
    /* no tokenizer.json: "none", the key other engines require to load the file */
    a = gguf_get_string(g, "tokenizer.ggml.model");
    CHECK_STR(a, "none");
    free(a);
    CHECK(u32(g, "deepseek2.block_count") == 3 && u32(g, "deepseek2.attention.q_lora_rank") == 0 &&
          u32(g, "deepseek2.attention.kv_lora_rank") == 32 && u32(g, "deepseek2.attention.key_length") == 24 &&
          u32(g, "deepseek2.attention.value_length") == 16 && u32(g, "deepseek2.rope.dimension_count") == 8 &&
          u32(g, "deepseek2.leading_dense_block_count") == 1 && u32(g, "deepseek2.expert_count") == 8 &&
          u32(g, "deepseek2.expert_used_count") == 2 && u32(g, "deepseek2.expert_shared_count") == 2 &&
          u32(g, "deepseek2.expert_gating_func") == 1 && u32(g, "deepseek2.expert_feed_forward_length") == 32 &&
          u32(g, "deepseek2.rope.scaling.original_context_length") == 64 && u32(g, "general.file_type") == 1);
    float f = 0;
    CHECK(gguf_get_f32(g, "deepseek2.rope.scaling.yarn_log_multiplier", &f) && fabsf(f - 0.0707f) < 1e-6f);
    CHECK(gguf_get_f32(g, "deepseek2.rope.scaling.factor", &f) && f == 4.0f);
    char *st = gguf_get_string(g, "deepseek2.rope.scaling.type");
    CHECK_STR(st, "yarn");
    free(st);
    bool b = true;
    CHECK(gguf_get_bool(g, "deepseek2.expert_weights_norm", &b) && !b);
    const gguf_tensor *t = gguf_find_tensor(g, "blk.1.ffn_gate_exps.weight");
    CHECK(t && t->n_dims == 3 && t->ne[0] == 64 && t->ne[1] == 32 && t->ne[2] == 8 && t->type == SEEK_TYPE_F16);
    t = gguf_find_tensor(g, "blk.1.ffn_gate_inp.weight");
    CHECK(t && t->type == SEEK_TYPE_F32);   /* the router stays F32 */
    t = gguf_find_tensor(g, "blk.0.attn_norm.weight");
    CHECK(t && t->type == SEEK_TYPE_F32);
    CHECK(gguf_find_tensor(g, "blk.0.attn_q.weight") && !gguf_find_tensor(g, "blk.0.attn_q_a.weight"));
    CHECK(!gguf_find_tensor(g, "blk.1.exp_probs_b.bias"));
    gguf_close(g);

    CHECK_MSG(convert_hf("tests/data/hf/deepseek-v3-tiny", out_path("v3"), &o) == 0, "%s", seek_last_error());
    g = gguf_open(out_path("v3"));
    CHECK(g && u32(g, "deepseek2.attention.q_lora_rank") == 48 && u32(g, "deepseek2.expert_gating_func") == 2 &&
          u32(g, "deepseek2.expert_group_count") == 4 && u32(g, "deepseek2.expert_group_used_count") == 2);
    CHECK(gguf_get_f32(g, "deepseek2.expert_weights_scale", &f) && f == 2.5f);
    t = gguf_find_tensor(g, "blk.1.exp_probs_b.bias");
    CHECK(t && t->ne[0] == 8 && t->type == SEEK_TYPE_F32);
    gguf_close(g);
}

/* llama: q/k rows permuted per head from halves to interleaved pairs; llama3 rope_freqs. */
TEST(llama_conventions) {
    convert_opts o = {.type = SEEK_TYPE_F32};
    CHECK_MSG(convert_hf("tests/data/hf/llama-tiny", out_path("llama"), &o) == 0, "%s", seek_last_error());
    gguf_file *g = gguf_open(out_path("llama"));
    st_file *s = st_open("tests/data/hf/llama-tiny/model.safetensors");
    CHECK(g && s);
    const st_tensor *hk = st_find(s, "model.layers.0.self_attn.k_proj.weight");   /* [2*16][64] */
    const gguf_tensor *gk = gguf_find_tensor(g, "blk.0.attn_k.weight");
    CHECK(hk && gk && gk->ne[0] == 64 && gk->ne[1] == 32);
    const float *H = hk->data, *G = gk->data;
    /* GGUF row h*16 + 2j + half  =  HF row h*16 + half*8 + j */
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 8; j++)
            for (int half = 0; half < 2; half++)
                CHECK(!memcmp(G + (h * 16 + 2 * j + half) * 64, H + (h * 16 + half * 8 + j) * 64, 64 * sizeof(float)));
    const gguf_tensor *rf = gguf_find_tensor(g, "rope_freqs.weight");
    CHECK(rf && rf->ne[0] == 8);
    /* theta 5e5, d 16, factor 8, low 1, high 4, original context 64: the wavelength of
     * frequency j is 2*pi*500000^(j/8); below 64/4 -> 1, above 64/1 -> 8, between -> smooth */
    const float *ff = rf->data;
    CHECK_NEAR(ff[0], 1.0, 0);                        /* 6.3 */
    double wl = 2 * M_PI * pow(500000.0, 1.0 / 8);   /* 32.4 */
    double sm = (64 / wl - 1) / (4 - 1);
    CHECK_NEAR(ff[1], 1.0 / ((1 - sm) / 8 + sm), 1e-5);
    for (int j = 2; j < 8; j++) CHECK_NEAR(ff[j], 8.0, 0);   /* >= 167 */
    CHECK(!gguf_find_tensor(g, "blk.0.attn_q.bias"));
    st_close(s);
    gguf_close(g);

    CHECK_MSG(convert_hf("tests/data/hf/qwen2-tiny", out_path("qwen2"), &o) == 0, "%s", seek_last_error());
    g = gguf_open(out_path("qwen2"));
    CHECK(g && !gguf_find_tensor(g, "output.weight") && gguf_find_tensor(g, "blk.1.attn_v.bias"));   /* tied */
    gguf_close(g);
}

int main(void) {
    if (test_mkdtemp(tmpdir, "test-convert")) return 1;
    RUN(fp8_block_scaled_weights);
    RUN(fp8_without_scale_is_an_error);
    RUN(deepseek2_metadata);
    RUN(llama_conventions);
    test_rmdir(tmpdir);
    return test_summary();
}
