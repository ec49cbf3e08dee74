/* tio.c - training files: checkpoints (exact resume) and export to a deepseek2 GGUF.
 *
 * Checkpoint: "SEEKCKPT", u32 version, the config as i32/f32 fields, u64 n_params, i64 step,
 * i64 AdamW t, then params, AdamW m and v as f32. Parameters include the MoE selection
 * biases, and the data order depends only on (seed, step): so loading a checkpoint and
 * continuing gives bit-identical results to never stopping.
 *
 * GGUF export: the tensor names and `deepseek2.*` keys seek's converter writes (the GGUF
 * ecosystem's), all tensors F32; the MTP module is block L (`block_count` = L + 1) with its
 * extra tensors `blk.L.nextn.{eh_proj,enorm,hnorm,shared_head_norm}` and
 * `deepseek2.nextn_predict_layers` = 1 (llama.cpp's convention; embed_tokens and
 * shared_head_head are optional there and left out: the MTP shares the main ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer.h"
#include "train/train.h"
#include "util.h"

static const char CK_MAGIC[8] = {'S', 'E', 'E', 'K', 'C', 'K', 'P', 'T'};
enum { CK_VERSION = 1, CK_NI = 19, CK_NF = 3 };

static void cfg_pack(const tm_config *c, int32_t *iv, float *fv) {
    int32_t v[CK_NI] = {c->V, c->D, c->L, c->n_dense, c->H, c->QL, c->R, c->nope, c->rope, c->hv, c->F,
                        c->E, c->K, c->n_shared, c->Fe, c->mtp, c->tied, c->ctx, c->norm_topk};
    memcpy(iv, v, sizeof v);
    fv[0] = c->eps; fv[1] = c->rope_base; fv[2] = c->route_scale;
}

static void cfg_unpack(tm_config *c, const int32_t *v, const float *fv) {
    c->V = v[0]; c->D = v[1]; c->L = v[2]; c->n_dense = v[3]; c->H = v[4]; c->QL = v[5]; c->R = v[6];
    c->nope = v[7]; c->rope = v[8]; c->hv = v[9]; c->F = v[10]; c->E = v[11]; c->K = v[12];
    c->n_shared = v[13]; c->Fe = v[14]; c->mtp = v[15]; c->tied = v[16];
    c->ctx = v[17]; c->norm_topk = v[18];
    c->eps = fv[0]; c->rope_base = fv[1]; c->route_scale = fv[2];
}

static bool put_f32(FILE *f, const real *x, size_t n) {
    float buf[1024];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < 1024 ? n - i : 1024;
        for (size_t j = 0; j < k; j++) buf[j] = (float)x[i + j];
        if (fwrite(buf, 4, k, f) != k) return false;
        i += k;
    }
    return true;
}

int tm_save_checkpoint(const tm_model *m, const adamw_state *s, int64_t step, const char *path) {
    size_t pl = strlen(path);
    char *tmp = seek_malloc(pl + 8);
    if (!tmp) return -1;
    snprintf(tmp, pl + 8, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) { seek_error("%s: cannot create", tmp); free(tmp); return -1; }
    int32_t iv[CK_NI];
    float fv[CK_NF];
    cfg_pack(&m->c, iv, fv);
    uint32_t ver = CK_VERSION;
    uint64_t np = m->n_params;
    int64_t hdr[2] = {step, s->t};
    bool ok = fwrite(CK_MAGIC, 1, 8, f) == 8 && fwrite(&ver, 4, 1, f) == 1 && fwrite(iv, 4, CK_NI, f) == CK_NI &&
              fwrite(fv, 4, CK_NF, f) == CK_NF && fwrite(&np, 8, 1, f) == 1 && fwrite(hdr, 8, 2, f) == 2 &&
              put_f32(f, m->params, m->n_params) && fwrite(s->m, 4, m->n_params, f) == m->n_params &&
              fwrite(s->v, 4, m->n_params, f) == m->n_params;
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return seek_error("%s: cannot write the checkpoint", path);
    }
    free(tmp);
    return 0;
}

int tm_load_checkpoint(tm_model *m, adamw_state *s, int64_t *step, const char *path) {
    seek_file_map fm;
    if (seek_map_file(path, &fm)) return -1;
    const size_t hl = 8 + 4 + 4 * CK_NI + 4 * CK_NF + 8 + 16;
    int rc = -1;
    tm_config c = {0};
    uint64_t np = 0;
    int64_t hdr[2];
    if (fm.size < hl || memcmp(fm.data, CK_MAGIC, 8)) { seek_error("%s: not a seek checkpoint", path); goto out; }
    uint32_t ver;
    memcpy(&ver, fm.data + 8, 4);
    if (ver != CK_VERSION) { seek_error("%s: checkpoint version %u (expected %d)", path, ver, CK_VERSION); goto out; }
    int32_t iv[CK_NI];
    float fv[CK_NF];
    memcpy(iv, fm.data + 12, sizeof iv);
    memcpy(fv, fm.data + 12 + sizeof iv, sizeof fv);
    memcpy(&np, fm.data + 12 + sizeof iv + sizeof fv, 8);
    memcpy(hdr, fm.data + 20 + sizeof iv + sizeof fv, 16);
    cfg_unpack(&c, iv, fv);
    if (tm_create(m, &c)) { seek_error_prefix("%s", path); goto out; }
    if (np != m->n_params || fm.size != hl + 12 * np) {
        seek_error("%s: checkpoint size does not match its configuration", path);
        tm_free(m);
        goto out;
    }
    if (adamw_init(s, m->n_params)) { tm_free(m); goto out; }
    const uint8_t *p = fm.data + hl;
    for (size_t i = 0; i < np; i++) {
        float x;
        memcpy(&x, p + 4 * i, 4);
        m->params[i] = x;
    }
    memcpy(s->m, p + 4 * np, 4 * np);
    memcpy(s->v, p + 8 * np, 4 * np);
    *step = hdr[0];
    s->t = hdr[1];
    rc = 0;
out:
    seek_unmap_file(&fm);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* GGUF */

static int write_tokenizer(gguf_writer *w, const char *path, int V) {
    seek_tokenizer *t = tok_load_json(path);
    if (!t) return -1;
    int rc = tok_write_gguf_rows(t, w, V, path);
    tok_free(t);
    return rc;
}

int tm_export_gguf(const tm_model *m, const char *tokenizer_json, const char *chat_template, const char *name,
                   const char *path, bool with_mtp) {
    const tm_config *c = &m->c;
    const int mtp = with_mtp ? c->mtp : 0;
    char mtp_prefix[32];
    snprintf(mtp_prefix, sizeof mtp_prefix, "blk.%d.", c->L);
    gguf_writer *w = gguf_writer_new();
    if (!w) return -1;
    int rc = -1;
    float *conv = NULL;
#define K(s) "deepseek2." s
    if (gguf_set_str(w, "general.architecture", "deepseek2") || gguf_set_str(w, "general.name", name ? name : "seek-trained") ||
        gguf_set_u32(w, "general.file_type", 0) || gguf_set_u32(w, K("vocab_size"), (uint32_t)c->V) ||
        gguf_set_u32(w, K("context_length"), (uint32_t)c->ctx) || gguf_set_u32(w, K("embedding_length"), (uint32_t)c->D) ||
        gguf_set_u32(w, K("block_count"), (uint32_t)(c->L + mtp)) ||
        gguf_set_u32(w, K("feed_forward_length"), (uint32_t)(c->F > 0 ? c->F : c->Fe)) ||
        gguf_set_u32(w, K("attention.head_count"), (uint32_t)c->H) ||
        gguf_set_u32(w, K("attention.head_count_kv"), (uint32_t)c->H) ||
        gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), c->eps) || gguf_set_f32(w, K("rope.freq_base"), c->rope_base) ||
        gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)c->rope) ||
        gguf_set_u32(w, K("leading_dense_block_count"), (uint32_t)c->n_dense) ||
        gguf_set_u32(w, K("attention.q_lora_rank"), (uint32_t)c->QL) ||
        gguf_set_u32(w, K("attention.kv_lora_rank"), (uint32_t)c->R) ||
        gguf_set_u32(w, K("attention.key_length"), (uint32_t)(c->nope + c->rope)) ||
        gguf_set_u32(w, K("attention.value_length"), (uint32_t)c->hv) ||
        gguf_set_u32(w, K("expert_feed_forward_length"), (uint32_t)c->Fe) ||
        gguf_set_u32(w, K("expert_count"), (uint32_t)c->E) || gguf_set_u32(w, K("expert_used_count"), (uint32_t)c->K) ||
        gguf_set_u32(w, K("expert_shared_count"), (uint32_t)c->n_shared) ||
        gguf_set_f32(w, K("expert_weights_scale"), c->route_scale) ||
        gguf_set_bool(w, K("expert_weights_norm"), c->norm_topk != 0) || gguf_set_u32(w, K("expert_gating_func"), 2) ||
        gguf_set_u32(w, K("expert_group_count"), 1) || gguf_set_u32(w, K("expert_group_used_count"), 1) ||
        (mtp && gguf_set_u32(w, K("nextn_predict_layers"), (uint32_t)mtp)))
        goto out;
#undef K
    if (tokenizer_json) {
        if (write_tokenizer(w, tokenizer_json, c->V)) goto out;
    } else if (gguf_set_str(w, "tokenizer.ggml.model", "none")) {
        goto out;
    }
    if (chat_template && gguf_set_str(w, "tokenizer.chat_template", chat_template)) goto out;
    if (sizeof(real) != sizeof(float)) {
        if (!(conv = seek_malloc(sizeof(float) * m->n_params))) goto out;
        for (size_t i = 0; i < m->n_params; i++) conv[i] = (float)m->params[i];
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const tm_tensor *t = &m->tensors[i];
        if (c->mtp && !mtp && !strncmp(t->name, mtp_prefix, strlen(mtp_prefix))) continue;   /* MTP left out */
        const void *data = conv ? (const void *)(conv + t->off) : (const void *)(m->params + t->off);
        if (gguf_add_tensor(w, t->name, SEEK_TYPE_F32, (uint32_t)t->nd, t->ne, data, true)) goto out;
    }
    rc = gguf_write(w, path);
out:
    gguf_writer_free(w);
    free(conv);
    return rc;
}
