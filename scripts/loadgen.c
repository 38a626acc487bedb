/*
 * A closed-loop HTTP/1.1 load generator for one URL, in the manner of wrk: CONNECTIONS keep-alive
 * connections, each with one request in flight, for DURATION seconds or REQUESTS requests in all.
 * One thread and epoll, so that on a 2-core machine the client takes as little of the CPU as the
 * thing it measures can spare (a JVM client would compile and collect beside the node).
 *
 *   loadgen -p PORT -u PATH [-t TOKEN] [-b BODY] [-c CONNECTIONS] [-d SECONDS | -n REQUESTS]
 *           [-w WINDOW_MS] [-s START_KIND_HEADER]
 *
 * Prints one line per window (-w, default 1000 ms): requests, errors and latency percentiles of the
 * requests that ended in it; then a summary line: "total requests=... errors=... rps=... p50=...
 * p90=... p99=... max=..." (ms). Latency runs from writing the request to the end of its response.
 * With -s NAME, the values of response header NAME are counted and printed with the summary (for
 * X-Thaw-Start: how many answers were restores, boots, warm).
 *
 * Build: cc -O2 -o loadgen scripts/loadgen.c   (scripts/clone-warm-up.py builds it when needed)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 1024
#define BUF 65536

struct conn {
    int fd;
    char in[BUF];
    size_t have;
    uint64_t sent_ns;
    size_t out_off;
};

static char *request;
static size_t request_len;
static struct sockaddr_in addr;
static uint64_t *lat;         /* every latency, ns */
static size_t lat_n, lat_cap;
static uint64_t *win;         /* latencies of the current window */
static size_t win_n, win_cap;
static long errors, win_errors;
static const char *kind_header;
static char kinds[16][32];
static long kind_counts[16];
static int nkinds;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t) t.tv_sec * 1000000000ull + t.tv_nsec;
}

static void push(uint64_t **a, size_t *n, size_t *cap, uint64_t v) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *a = realloc(*a, *cap * sizeof **a);
        if (!*a) { perror("realloc"); exit(2); }
    }
    (*a)[(*n)++] = v;
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *a, size_t n, double q) {
    if (n == 0) return 0;
    size_t i = (size_t) (n * q);
    if (i >= n) i = n - 1;
    return a[i] / 1e6;
}

static void count_kind(const char *v, size_t len) {
    if (len >= sizeof kinds[0]) len = sizeof kinds[0] - 1;
    for (int i = 0; i < nkinds; i++) {
        if (strlen(kinds[i]) == len && memcmp(kinds[i], v, len) == 0) { kind_counts[i]++; return; }
    }
    if (nkinds < 16) { memcpy(kinds[nkinds], v, len); kinds[nkinds][len] = 0; kind_counts[nkinds++] = 1; }
}

static int open_conn(int ep, struct conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) { perror("socket"); return -1; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *) &addr, sizeof addr) < 0) { perror("connect"); return -1; }
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    c->have = 0;
    return 0;
}

static void send_request(struct conn *c) {
    c->sent_ns = now_ns();
    size_t off = 0;
    while (off < request_len) {
        ssize_t w = write(c->fd, request + off, request_len - off);
        if (w < 0) {
            if (errno == EAGAIN) continue; /* requests are small: the socket buffer takes them */
            perror("write");
            exit(2);
        }
        off += (size_t) w;
    }
}

/* @return the length of a complete response at the start of c->in, 0 if incomplete */
static size_t complete(struct conn *c, int *status) {
    char *end = memmem(c->in, c->have, "\r\n\r\n", 4);
    if (!end) return 0;
    size_t head = (size_t) (end - c->in) + 4;
    *status = atoi(c->in + 9);
    long length = 0;
    for (char *p = c->in; p < end; ) {
        char *eol = memmem(p, (size_t) (end - p) + 2, "\r\n", 2);
        if (!eol) break;
        if ((size_t) (eol - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) length = atol(p + 15);
        p = eol + 2;
    }
    if (c->have < head + (size_t) length) return 0;
    if (kind_header) {
        size_t kl = strlen(kind_header);
        for (char *p = c->in; p < end; ) {
            char *eol = memmem(p, (size_t) (end - p) + 2, "\r\n", 2);
            if (!eol) break;
            if ((size_t) (eol - p) > kl && strncasecmp(p, kind_header, kl) == 0 && p[kl] == ':') {
                char *v = p + kl + 1;
                while (*v == ' ') v++;
                count_kind(v, (size_t) (eol - v));
            }
            p = eol + 2;
        }
    }
    return head + (size_t) length;
}

int main(int argc, char **argv) {
    int port = 8080, conns = 8, window_ms = 1000;
    double duration = 0;
    long max_requests = 0;
    const char *path = "/", *token = NULL, *body = "{}";
    int opt;
    while ((opt = getopt(argc, argv, "p:u:t:b:c:d:n:w:s:")) != -1) {
        switch (opt) {
            case 'p': port = atoi(optarg); break;
            case 'u': path = optarg; break;
            case 't': token = optarg; break;
            case 'b': body = optarg; break;
            case 'c': conns = atoi(optarg); break;
            case 'd': duration = atof(optarg); break;
            case 'n': max_requests = atol(optarg); break;
            case 'w': window_ms = atoi(optarg); break;
            case 's': kind_header = optarg; break;
            default:
                fprintf(stderr, "usage: loadgen -p PORT -u PATH [-t TOKEN] [-b BODY] [-c N] [-d SECONDS | -n REQUESTS] "
                                "[-w WINDOW_MS] [-s HEADER]\n");
                return 2;
        }
    }
    if (conns < 1 || conns > MAX_CONN || (duration <= 0 && max_requests <= 0)) {
        fprintf(stderr, "loadgen: 1-%d connections, and -d or -n\n", MAX_CONN);
        return 2;
    }
    request = malloc(strlen(path) + strlen(body) + (token ? strlen(token) : 0) + 256);
    request_len = (size_t) sprintf(request,
            "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/json\r\n%s%s%sContent-Length: %zu\r\n\r\n%s",
            path, port, token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "", strlen(body), body);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t) port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int ep = epoll_create1(0);
    static struct conn cs[MAX_CONN];
    long started = 0, finished = 0;
    uint64_t t0 = now_ns(), end = duration > 0 ? t0 + (uint64_t) (duration * 1e9) : UINT64_MAX;
    uint64_t window_start = t0, window_ns = (uint64_t) window_ms * 1000000ull;
    for (int i = 0; i < conns; i++) {
        if (open_conn(ep, &cs[i]) < 0) return 2;
    }
    for (int i = 0; i < conns && (max_requests == 0 || started < max_requests); i++, started++) {
        send_request(&cs[i]);
    }
    struct epoll_event events[MAX_CONN];
    long in_flight = started;
    while (in_flight > 0) {
        int n = epoll_wait(ep, events, MAX_CONN, 50);
        uint64_t t = now_ns();
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            ssize_t r = read(c->fd, c->in + c->have, BUF - c->have);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                fprintf(stderr, "loadgen: connection closed by the server\n");
                return 2;
            }
            c->have += (size_t) r;
            int status;
            size_t len = complete(c, &status);
            if (len == 0) {
                if (c->have == BUF) { fprintf(stderr, "loadgen: response too large\n"); return 2; }
                continue;
            }
            memmove(c->in, c->in + len, c->have - len);
            c->have -= len;
            uint64_t l = t - c->sent_ns;
            push(&lat, &lat_n, &lat_cap, l);
            push(&win, &win_n, &win_cap, l);
            if (status != 200) { errors++; win_errors++; }
            finished++;
            in_flight--;
            if (t < end && (max_requests == 0 || started < max_requests)) {
                send_request(c);
                started++;
                in_flight++;
            }
        }
        while (t - window_start >= window_ns || (in_flight == 0 && win_n > 0)) {
            qsort(win, win_n, sizeof *win, cmp);
            printf("window t=%.1fs requests=%zu errors=%ld rps=%.0f p50=%.3f p90=%.3f p99=%.3f max=%.3f\n",
                   (window_start - t0) / 1e9, win_n, win_errors, win_n / (window_ms / 1000.0),
                   pct(win, win_n, .5), pct(win, win_n, .9), pct(win, win_n, .99), win_n ? win[win_n - 1] / 1e6 : 0.0);
            win_n = 0;
            win_errors = 0;
            window_start += window_ns;
            if (in_flight == 0) break;
        }
    }
    double elapsed = (now_ns() - t0) / 1e9;
    qsort(lat, lat_n, sizeof *lat, cmp);
    printf("total requests=%ld errors=%ld seconds=%.2f rps=%.0f p50=%.3f p90=%.3f p99=%.3f max=%.3f",
           finished, errors, elapsed, finished / elapsed, pct(lat, lat_n, .5), pct(lat, lat_n, .9), pct(lat, lat_n, .99),
           lat_n ? lat[lat_n - 1] / 1e6 : 0.0);
    for (int i = 0; i < nkinds; i++) printf(" %s:%s=%ld", kind_header, kinds[i], kind_counts[i]);
    printf("\n");
    return 0;
}
