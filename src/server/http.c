/* http.c - the HTTP side of `seek serve`, on libmicrohttpd.
 *
 * One thread per connection (MHD's thread-per-connection mode): a handler may
 * block while its answer is generated, and a stream's reader blocks until the
 * next tokens arrive, without holding up anyone else. What this file adds to
 * MHD: the API key (Bearer, compared in constant time), the body-size limit
 * (413), a whole-request read deadline (408: a client trickling one byte a
 * second never trips an idle timeout), CORS when asked for, noticing a client
 * that hung up (its generation is cancelled), one log line per request,
 * /metrics counters and the SIGINT/SIGTERM shutdown.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/server.h"
#include "util.h"

void srv_opts_default(srv_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->max_body = 8u << 20;
    o->read_timeout_s = 30;
    o->idle_timeout_s = 60;
    o->parallel = 4;
    o->queue = 64;
    o->max_connections = 512;
}

/* ---------------------------------------------------------------------------
 * Connections (for the read deadline) and requests */

enum { C_FRESH, C_READING, C_BUSY, C_IDLE, C_DEAD };

typedef struct conn {
    int fd;
    int state;
    double t;            /* when the current state began */
    void *req;           /* the request being read, until MHD reports it completed */
    struct conn *next;
} conn;

typedef struct {
    double t0;
    bool first;          /* the handler has not seen this request yet */
    bool too_big;
    strbuf body;
    char method[16];
    char *path;
    int status, tokens;
    int fd;
    srv_stream *stream;
    conn *cn;
} req;

static srv_ctx ctx;
static pthread_mutex_t conns_mu = PTHREAD_MUTEX_INITIALIZER;
static conn *conns;
static int active;       /* requests in flight (under conns_mu) */

static void set_state(conn *cn, int state) {
    if (!cn) return;
    pthread_mutex_lock(&conns_mu);
    if (cn->state != C_DEAD) {
        cn->state = state;
        cn->t = srv_now_ms();
    }
    pthread_mutex_unlock(&conns_mu);
}

static void count_status(int status) {
    pthread_mutex_lock(&ctx.mu);
    if (status >= 100 && status < 600) ctx.status_count[status]++;
    pthread_mutex_unlock(&ctx.mu);
}

static void log_line(const char *method, const char *path, int status, int tokens, double ms) {
    if (ctx.o->quiet) return;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s %s %s %d tokens=%d ms=%.0f\n", ts, method, path, status, tokens, ms);
}

static void req_done(void *q, int toe_ok);

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn *cn = calloc(1, sizeof *cn);
        if (!cn) return;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
        cn->fd = ci ? ci->connect_fd : -1;
        cn->state = C_FRESH;
        cn->t = srv_now_ms();
        pthread_mutex_lock(&conns_mu);
        cn->next = conns;
        conns = cn;
        pthread_mutex_unlock(&conns_mu);
        *socket_context = cn;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        conn *cn = *socket_context;
        /* a request MHD gave up on before our handler saw it (headers too large,
         * the read deadline, a client that left mid-request) is never reported
         * completed: end it here */
        if (cn->req) req_done(cn->req, 0);
        pthread_mutex_lock(&conns_mu);
        for (conn **p = &conns; *p; p = &(*p)->next)
            if (*p == cn) {
                *p = cn->next;
                break;
            }
        pthread_mutex_unlock(&conns_mu);
        free(cn);
        *socket_context = NULL;
    }
}

/* Called when a request line has arrived: the request object starts here. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *mc) {
    (void)cls;
    req *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->t0 = srv_now_ms();
    q->first = true;
    q->path = strdup(uri ? uri : "");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    q->cn = ci ? ci->socket_context : NULL;
    if (q->cn) {
        pthread_mutex_lock(&conns_mu);
        q->cn->req = q;
        pthread_mutex_unlock(&conns_mu);
    }
    ci = MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    q->fd = ci ? ci->connect_fd : -1;
    set_state(q->cn, C_READING);
    pthread_mutex_lock(&conns_mu);
    active++;
    pthread_mutex_unlock(&conns_mu);
    return q;
}

/* The end of a request: log it, count it, free it. */
static void req_done(void *ud, int toe_ok) {
    req *q = ud;
    if (q->stream) {
        if (!toe_ok) stream_cancel(q->stream);
        q->tokens = stream_tokens(q->stream);
        stream_free(q->stream);
    }
    if (q->status) count_status(q->status);
    if (q->status || !q->cn || q->cn->state != C_DEAD)   /* the watchdog logged its 408s */
        log_line(q->method[0] ? q->method : "-", q->path ? q->path : "-", q->status, q->tokens, srv_now_ms() - q->t0);
    pthread_mutex_lock(&conns_mu);   /* the watchdog reads cn->req under this lock */
    if (q->cn) q->cn->req = NULL;
    pthread_mutex_unlock(&conns_mu);
    set_state(q->cn, C_IDLE);
    sb_free(&q->body);
    free(q->path);
    free(q);
    pthread_mutex_lock(&conns_mu);
    active--;
    pthread_mutex_unlock(&conns_mu);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)mc;
    req *q = *con_cls;
    if (!q) return;
    if (q->status == 0 && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) q->status = 499;   /* the client left */
    req_done(q, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    *con_cls = NULL;
}

/* Has the client hung up? (Checked while its answer is being generated.) */
static bool client_gone(void *ud) {
    req *q = ud;
    if (q->fd < 0) return false;
    struct pollfd p = {.fd = q->fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    char c;
    return recv(q->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    req *q = cls;
    for (;;) {
        long n = stream_read(q->stream, buf, max, 100);
        if (n > 0) return n;
        if (n < 0) return MHD_CONTENT_READER_END_OF_STREAM;
        if (client_gone(q)) {
            stream_cancel(q->stream);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static enum MHD_Result send_reply(struct MHD_Connection *mc, req *q, srv_reply *r) {
    struct MHD_Response *resp;
    if (r->stream) {
        q->stream = r->stream;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, q, NULL);
    } else {
        resp = MHD_create_response_from_buffer(r->len, r->body,
                                               r->body_static ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_FREE);
    }
    if (!resp) {
        if (!r->stream && !r->body_static) free(r->body);
        return MHD_NO;
    }
    if (r->ctype) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    if (r->stream) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    }
    if (ctx.o->cors) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", ctx.o->cors);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    q->status = r->status;
    q->tokens = r->tokens;
    enum MHD_Result ret = MHD_queue_response(mc, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *mc, req *q, int status, const char *type, const char *code,
                                  const char *msg) {
    srv_reply r;
    api_error(&r, status, type, NULL, code, "%s", msg);
    return send_reply(mc, q, &r);
}

/* Constant-time comparison of the presented key with ours (the time depends only
 * on the presented key's length). */
static bool key_ok(const char *given, const char *key) {
    size_t lg = strlen(given), lk = strlen(key);
    unsigned char diff = lg != lk;
    for (size_t i = 0; i < lg; i++) diff |= (unsigned char)given[i] ^ (unsigned char)key[lk ? i % lk : 0];
    return diff == 0;
}

static bool authorized(struct MHD_Connection *mc) {
    if (!ctx.o->api_key) return true;
    const char *h = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7)) return false;
    h += 7;
    while (*h == ' ') h++;
    return key_ok(h, ctx.o->api_key);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls) {
    (void)cls;
    (void)version;
    req *q = *con_cls;
    if (!q) return MHD_NO;   /* out of memory in on_uri */
    if (q->first) {
        q->first = false;
        snprintf(q->method, sizeof q->method, "%s", method);
        bool open_path = !strcmp(url, "/") || !strcmp(url, "/index.html") || !strcmp(url, "/health");
        if (!strcmp(method, "OPTIONS") && ctx.o->cors) {   /* CORS preflight */
            struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            MHD_add_response_header(resp, "Access-Control-Allow-Origin", ctx.o->cors);
            MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
            MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
            MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
            MHD_add_response_header(resp, "Vary", "Origin");
            q->status = 204;
            enum MHD_Result ret = MHD_queue_response(mc, 204, resp);
            MHD_destroy_response(resp);
            return ret;
        }
        if (!open_path && !authorized(mc))
            return send_error(mc, q, 401, "authentication_error", "invalid_api_key",
                              "a valid API key is required: Authorization: Bearer KEY");
        const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > ctx.o->max_body) {
            char msg[128];
            snprintf(msg, sizeof msg, "the request body is larger than the limit of %zu bytes", ctx.o->max_body);
            return send_error(mc, q, 413, "invalid_request_error", "request_too_large", msg);
        }
        return MHD_YES;
    }
    if (*upload_size) {   /* more of the body */
        if (!q->too_big && q->body.n + *upload_size > ctx.o->max_body) {
            q->too_big = true;
            sb_free(&q->body);
        }
        if (!q->too_big && sb_add(&q->body, upload_data, *upload_size)) q->too_big = true;
        *upload_size = 0;
        return MHD_YES;
    }
    set_state(q->cn, C_BUSY);   /* the request is in: no read deadline while we answer */
    if (q->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the request body is larger than the limit of %zu bytes", ctx.o->max_body);
        return send_error(mc, q, 413, "invalid_request_error", "request_too_large", msg);
    }
    srv_reply r;
    api_handle(&ctx, method, url, q->body.s, q->body.n, client_gone, q, &r);
    if (r.status == 499) {   /* nobody to answer */
        q->status = 499;
        if (!r.body_static) free(r.body);
        return MHD_NO;
    }
    return send_reply(mc, q, &r);
}

/* ---------------------------------------------------------------------------
 * The watchdog: read deadlines, idle connections, the tokens/s gauge */

static const char timeout_reply[] =
    "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 117\r\n\r\n"
    "{\"error\":{\"message\":\"the request did not arrive in time\",\"type\":\"invalid_request_error\",\"param\":null,"
    "\"code\":\"timeout\"}}";

static volatile int watchdog_quit;

static void *watchdog(void *arg) {
    (void)arg;
    double last_t = srv_now_ms();
    long long last_gen = 0;
    double rates[10] = {0};
    int ri = 0;
    while (!watchdog_quit) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        double now = srv_now_ms();
        pthread_mutex_lock(&conns_mu);
        for (conn *cn = conns; cn; cn = cn->next) {
            if (cn->fd < 0) continue;
            bool reading = cn->state == C_FRESH || cn->state == C_READING;
            if (reading && now - cn->t > ctx.o->read_timeout_s * 1000.0) {
                /* MHD is waiting in recv() for the rest of the request: answer for it */
                ssize_t w = send(cn->fd, timeout_reply, sizeof timeout_reply - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                (void)w;
                shutdown(cn->fd, SHUT_RDWR);
                cn->state = C_DEAD;
                count_status(408);
                req *q = cn->req;
                log_line(q && q->method[0] ? q->method : "-", q && q->path ? q->path : "-", 408, 0, now - cn->t);
            } else if (cn->state == C_IDLE && now - cn->t > ctx.o->idle_timeout_s * 1000.0) {
                shutdown(cn->fd, SHUT_RDWR);
                cn->state = C_DEAD;
            }
        }
        pthread_mutex_unlock(&conns_mu);
        if (ctx.ready && now - last_t >= 1000) {
            sched_stats st;
            sched_get_stats(ctx.sched, &st);
            rates[ri++ % 10] = (st.tokens_generated - last_gen) * 1000.0 / (now - last_t);
            last_gen = st.tokens_generated;
            last_t = now;
            double sum = 0;
            int k = ri < 10 ? ri : 10;
            for (int i = 0; i < k; i++) sum += rates[i];
            pthread_mutex_lock(&ctx.mu);
            ctx.tps = k ? sum / k : 0;
            pthread_mutex_unlock(&ctx.mu);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Life cycle */

int srv_run(const srv_opts *o) {
    memset(&ctx, 0, sizeof ctx);
    ctx.o = o;
    pthread_mutex_init(&ctx.mu, NULL);
    ctx.t_start = (double)time(NULL) * 1000;

    /* SIGINT/SIGTERM are taken by this thread only (sigwait); every thread
     * started from here inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in a4 = {0};
    struct sockaddr_in6 a6 = {0};
    struct sockaddr *addr;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
    if (inet_pton(AF_INET, o->host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)o->port);
        addr = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, o->host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)o->port);
        addr = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return seek_error("--host %s: not an IPv4 or IPv6 address", o->host);
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)o->port, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, addr,
        /* no MHD timeout: it would also cut answers that take long to generate; the
         * watchdog applies the read deadline and the idle timeout instead */
        MHD_OPTION_CONNECTION_TIMEOUT, 0u,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, NULL, MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_END);
    if (!d) return seek_error("cannot listen on %s:%d (in use, or not allowed)", o->host, o->port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = di ? di->port : o->port;
    fprintf(stderr, "seek: serve: listening on http://%s%s%s:%d/ (loading %s)\n", addr->sa_family == AF_INET6 ? "[" : "",
            o->host, addr->sa_family == AF_INET6 ? "]" : "", port, o->model_path);

    pthread_t wd;
    bool wd_ok = pthread_create(&wd, NULL, watchdog, NULL) == 0;
    double t0 = srv_now_ms();
    int rc = 0;
    /* test hook: a slow load, so that the tests can see the 503s of the loading phase */
    const char *delay = getenv("SEEK_SERVE_TEST_LOAD_DELAY_MS");
    if (delay) {
        long ms = atol(delay);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    seek_session *ss = session_open(o->model_path, &o->sopts);
    srv_sched *sched = ss ? sched_new(ss, o->parallel, o->queue) : NULL;
    if (!sched) {
        rc = -1;
        goto stop;
    }
    ctx.ss = ss;
    ctx.sched = sched;
    __atomic_store_n(&ctx.ready, 1, __ATOMIC_SEQ_CST);
    fprintf(stderr, "seek: serve: ready in %.0f ms: model '%s', template %s, %d slots x %d tokens of context\n",
            srv_now_ms() - t0, o->model_id, chat_format_name(ss->tmpl.format), o->parallel, ss->n_ctx);

    int sig;
    sigwait(&sigs, &sig);
    fprintf(stderr, "seek: serve: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
stop:
    ctx.draining = 1;
    MHD_socket lfd = MHD_quiesce_daemon(d);   /* no new connections */
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    /* running generations end now (their clients get a complete, shorter answer) */
    if (sched) sched_cancel_all(sched);
    for (double t = srv_now_ms(); srv_now_ms() - t < 5000;) {   /* let those answers go out */
        pthread_mutex_lock(&conns_mu);
        int n = active;
        pthread_mutex_unlock(&conns_mu);
        if (n == 0) break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(d);
    watchdog_quit = 1;
    if (wd_ok) pthread_join(wd, NULL);
    ctx.ready = 0;
    sched_free(sched);
    session_close(ss);
    return rc;
}
