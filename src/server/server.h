/* server.h - `seek serve`: an OpenAI/DeepSeek-compatible HTTP API over the library.
 *
 *   http.c      libmicrohttpd: listening, keys, limits, timeouts, CORS, logging, signals
 *   api.c       the endpoints: requests (JSON) -> jobs, jobs -> responses / SSE streams
 *   sched.c     continuous batching: slots, queue, one model_forward_batch per step
 *   toolcall.c  tool-call markup <-> OpenAI tool_calls
 *   ui          the web chat page (src/server/ui/index.html, embedded at build time)
 *
 * See docs/server.md.
 */
#ifndef SEEK_SERVER_H
#define SEEK_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "server/sched.h"
#include "session.h"

typedef struct {
    const char *host;        /* default 127.0.0.1 */
    int port;                /* 0: any free port (printed) */
    const char *api_key;     /* NULL: no key needed */
    const char *cors;        /* NULL: no CORS headers */
    size_t max_body;         /* bytes; larger requests get 413 */
    int read_timeout_s;      /* a request must arrive whole within this */
    int idle_timeout_s;      /* an idle keep-alive connection is closed after this */
    int parallel;            /* slots */
    int queue;               /* waiting requests beyond which 429 */
    int max_connections;
    const char *model_path;
    const char *model_id;    /* the name /v1/models lists (default: file name without .gguf) */
    session_opts sopts;
    bool quiet;              /* no request log */
} srv_opts;

void srv_opts_default(srv_opts *o);

/* Run the server until SIGINT/SIGTERM. The HTTP side starts first (answering 503
 * while the model loads). Returns 0 after a clean shutdown, -1 on error (set). */
int srv_run(const srv_opts *o);

/* ---- shared between http.c and api.c ---- */

typedef struct srv_ctx {
    const srv_opts *o;
    seek_session *ss;        /* NULL while loading */
    srv_sched *sched;
    volatile int ready;      /* the model is loaded */
    volatile int draining;   /* shutting down: no new work */
    pthread_mutex_t mu;      /* metrics */
    long status_count[600];
    long long req_tokens_prompt, req_tokens_gen;
    double t_start;
    double tps;              /* generated tokens/s over the last seconds (watchdog) */
} srv_ctx;

/* A reply: a whole body, or a stream read piece by piece. */
typedef struct srv_stream srv_stream;
typedef struct {
    int status;
    const char *ctype;
    char *body;              /* heap, or NULL with `stream` */
    size_t len;
    bool body_static;        /* body points to static data (not freed) */
    srv_stream *stream;
    int tokens;              /* for the log line */
} srv_reply;

/* Answer a request. `gone(ud)` tells whether the client has disconnected (checked
 * while waiting for a non-streamed answer). Always fills `r` (errors too). */
void api_handle(srv_ctx *c, const char *method, const char *path, const char *body, size_t len,
                bool (*gone)(void *), void *gone_ud, srv_reply *r);
/* An OpenAI error object reply. */
void api_error(srv_reply *r, int status, const char *type, const char *param, const char *code,
               const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Streams: read up to max bytes, waiting up to wait_ms for some. Returns the byte
 * count, 0 when nothing came in time, -1 at the end. */
long stream_read(srv_stream *st, char *buf, size_t max, int wait_ms);
/* The client went away: cancel the generation. */
void stream_cancel(srv_stream *st);
int stream_tokens(srv_stream *st);
void stream_free(srv_stream *st);

/* The embedded web UI (generated from src/server/ui/index.html). */
extern const unsigned char srv_ui_html[];
extern const unsigned int srv_ui_html_len;

#endif
