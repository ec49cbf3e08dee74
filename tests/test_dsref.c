/* test_dsref.c - the forward pass against DeepSeek's own reference implementation
 * (inference/model.py of deepseek-ai/DeepSeek-V3, run by tests/data/dsref/make.py; see
 * tests/data/dsref/README.md). Each fixture is converted, loaded and evaluated: logits at
 * every position within LOGIT_TOL of model.py's (in one batch and token by token through
 * the cache, absorbed and naive MLA), and the 16-token greedy continuation model.py
 * produced with its own KV cache. Covers V2 group-limited routing, mscale != mscale_all_dim
 * and a checkpoint with an MTP block. */
#include <jansson.h>

#include "convert.h"
#include "gguf.h"
#include "model.h"
#include "test.h"

#define LOGIT_TOL 1e-4   /* max |diff| relative to max |logit| (both sides compute in f32) */

static char tmpdir[64];

static void check_fixture(const char *name) {
    char dir[128], p[256], out[160];
    snprintf(dir, sizeof dir, "tests/data/dsref/%s", name);
    snprintf(out, sizeof out, "%s/%s.gguf", tmpdir, name);
    convert_opts o = {.type = SEEK_TYPE_F32};
    CHECK_MSG(convert_hf(dir, out, &o) == 0, "%s: %s", name, seek_last_error());
    snprintf(p, sizeof p, "%s/golden.json", dir);
    json_t *j = json_load_file(p, 0, NULL);
    CHECK(j);
    json_t *tk = json_object_get(j, "tokens"), *gr = json_object_get(j, "greedy_continuation");
    const int T = (int)json_array_size(tk), V = (int)json_integer_value(json_array_get(json_object_get(j, "logits_shape"), 1));
    int32_t tokens[64], cont[16];
    CHECK(T > 0 && T <= 64 && json_array_size(gr) == 16);
    for (int t = 0; t < T; t++) tokens[t] = (int32_t)json_integer_value(json_array_get(tk, (size_t)t));
    for (int t = 0; t < 16; t++) cont[t] = (int32_t)json_integer_value(json_array_get(gr, (size_t)t));
    json_decref(j);
    snprintf(p, sizeof p, "%s/case0.logits.f32", dir);
    float *ref = read_f32(p, (size_t)T * V);
    CHECK(ref);
    double scale = 0;
    for (size_t i = 0; i < (size_t)T * V; i++) scale = fmax(scale, fabs(ref[i]));

    seek_model *m = model_load(out);
    CHECK_MSG(m, "%s", seek_last_error());
    CHECK(m->hp.n_vocab == V);
    float *lg = malloc(sizeof(float) * (size_t)T * V), *one = malloc(sizeof(float) * V);
    for (int absorb = 1; absorb >= 0; absorb--) {
        m->mla = absorb ? MLA_ABSORBED : MLA_NAIVE;
        for (int by_token = 0; by_token <= 1; by_token++) {
            seek_kvcache *c = kvcache_new(m, T + 16);
            int rc = 0;
            if (by_token)
                for (int t = 0; t < T && !rc; t++) rc = model_forward(m, c, tokens + t, 1, t, lg + (size_t)t * V, NULL);
            else
                rc = model_forward(m, c, tokens, T, 0, lg, NULL);
            double err = 0;
            for (size_t i = 0; i < (size_t)T * V; i++) err = fmax(err, fabs((double)lg[i] - ref[i]));
            int32_t got[16], tok = argmax(lg + (size_t)(T - 1) * V, V);
            for (int i = 0; i < 16 && !rc; i++) {
                got[i] = tok;
                rc = model_forward(m, c, &tok, 1, T + i, one, NULL);
                tok = argmax(one, V);
            }
            kvcache_free(c);
            if (rc) { free(lg); free(one); free(ref); model_free(m); FAILF("%s: %s", name, seek_last_error()); }
            if (err > LOGIT_TOL * scale || memcmp(got, cont, sizeof got)) {
                free(lg); free(one); free(ref); model_free(m);
                FAILF("%s (%s, %s): max |dlogit| %g (tolerance %g), greedy continuation %s", name,
                      absorb ? "absorbed" : "naive", by_token ? "token by token" : "one batch", err, LOGIT_TOL * scale,
                      memcmp(got, cont, sizeof got) ? "differs" : "equal");
            }
        }
    }
    free(lg); free(one); free(ref);
    model_free(m);
}

TEST(v2_group_limited_routing) { check_fixture("v2-group-limited"); }
TEST(yarn_mscale_differs_from_mscale_all_dim) { check_fixture("v2-mscale-differs"); }

TEST(checkpoint_with_mtp_block) {
    check_fixture("v3-mtp");
    if (test_failed_) return;
    /* the MTP block (model.layers.3) is left out: 3 blocks, no blk.3 tensors */
    char p[160];
    snprintf(p, sizeof p, "%s/v3-mtp.gguf", tmpdir);
    gguf_file *g = gguf_open(p);
    CHECK(g);
    uint32_t n = 0;
    bool ok = gguf_get_u32(g, "deepseek2.block_count", &n) && n == 3 && !gguf_find_tensor(g, "blk.3.attn_norm.weight");
    gguf_close(g);
    CHECK(ok);
}

int main(void) {
    if (test_mkdtemp(tmpdir, "dsref")) return 1;
    RUN(v2_group_limited_routing);
    RUN(yarn_mscale_differs_from_mscale_all_dim);
    RUN(checkpoint_with_mtp_block);
    test_rmdir(tmpdir);
    return test_summary();
}
