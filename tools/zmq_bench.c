/* Loopback measurements with libzmq alone, so Switchboard can be compared with the transport's own limit.
 *
 *   zmq_bench echo EP                       a REP server that echoes every message (the raw baseline)
 *   zmq_bench rtt EP N PAYLOAD              N REQ round trips, one at a time; prints latency percentiles (µs)
 *   zmq_bench pipe EP N INFLIGHT PAYLOAD    N requests over one DEALER, INFLIGHT outstanding; prints requests/s
 *   zmq_bench pub EP N PAYLOAD              binds a PUB and sends N two-frame messages (topic, payload) after 0.5 s
 *   zmq_bench sub EP N                      subscribes to everything and counts N messages; prints messages/s
 *                                           from the first to the last (for raw PUB/SUB and for the engine's events)
 *
 * PAYLOAD is a file whose bytes are sent as each request. Built by tools/bench with `cc -O2 -lzmq`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(2); }
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(*size);
    if (fread(buf, 1, *size, f) != *size) { perror(path); exit(2); }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: see the comment at the top of zmq_bench.c\n"); return 2; }
    void *ctx = zmq_ctx_new();
    int linger = 0;
    if (strcmp(argv[1], "echo") == 0) {
        void *s = zmq_socket(ctx, ZMQ_REP);
        if (zmq_bind(s, argv[2]) != 0) { fprintf(stderr, "bind %s: %s\n", argv[2], zmq_strerror(zmq_errno())); return 1; }
        char buf[65536];
        for (;;) {
            int n = zmq_recv(s, buf, sizeof buf, 0);
            if (n < 0) break;
            zmq_send(s, buf, n > (int)sizeof buf ? sizeof buf : (size_t)n, 0);
        }
        return 0;
    }
    if (strcmp(argv[1], "rtt") == 0 && argc == 5) {
        int n = atoi(argv[3]);
        size_t size;
        char *payload = slurp(argv[4], &size);
        void *s = zmq_socket(ctx, ZMQ_REQ);
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        zmq_connect(s, argv[2]);
        char buf[65536];
        double *lat = malloc(sizeof(double) * n);
        for (int i = -1000; i < n; i++) {  /* the first thousand warm up */
            double t0 = now_us();
            zmq_send(s, payload, size, 0);
            if (zmq_recv(s, buf, sizeof buf, 0) < 0) { fprintf(stderr, "recv: %s\n", zmq_strerror(zmq_errno())); return 1; }
            if (i >= 0) lat[i] = now_us() - t0;
        }
        qsort(lat, n, sizeof(double), cmp);
        printf("{\"n\":%d,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f}\n", n, lat[n / 2], lat[n * 9 / 10],
               lat[n * 99 / 100], lat[n * 999 / 1000], lat[n - 1]);
        zmq_close(s);
        zmq_ctx_term(ctx);
        return 0;
    }
    if (strcmp(argv[1], "pipe") == 0 && argc == 6) {
        int n = atoi(argv[3]), inflight = atoi(argv[4]);
        size_t size;
        char *payload = slurp(argv[5], &size);
        void *s = zmq_socket(ctx, ZMQ_DEALER);
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
        int hwm = 0;
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_connect(s, argv[2]);
        /* A REP server needs the empty delimiter a REQ would add; the engine's ROUTER takes either. */
        int delimit = argc > 6 || getenv("DELIMIT") != NULL;
        char buf[65536];
        int sent = 0, got = 0;
        double t0 = now_us();
        while (got < n) {
            while (sent < n && sent - got < inflight) {
                if (delimit) zmq_send(s, "", 0, ZMQ_SNDMORE);
                zmq_send(s, payload, size, 0);
                sent++;
            }
            int more = 0;
            size_t ms = sizeof more;
            do {
                if (zmq_recv(s, buf, sizeof buf, 0) < 0) { fprintf(stderr, "recv: %s\n", zmq_strerror(zmq_errno())); return 1; }
                zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ms);
            } while (more);
            got++;
        }
        double seconds = (now_us() - t0) / 1e6;
        printf("{\"n\":%d,\"inflight\":%d,\"per_second\":%.0f}\n", n, inflight, n / seconds);
        zmq_close(s);
        zmq_ctx_term(ctx);
        return 0;
    }
    if (strcmp(argv[1], "pub") == 0 && argc == 5) {
        int n = atoi(argv[3]);
        size_t size;
        char *payload = slurp(argv[4], &size);
        void *s = zmq_socket(ctx, ZMQ_PUB);
        int hwm = 0;  /* unlimited: the raw baseline must not drop */
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
        zmq_setsockopt(s, ZMQ_LINGER, &hwm, sizeof hwm);
        zmq_bind(s, argv[2]);
        struct timespec pause = {0, 500000000};
        nanosleep(&pause, NULL);
        for (int i = 0; i < n; i++) {
            zmq_send(s, "decision.transfer.retention", 27, ZMQ_SNDMORE);
            zmq_send(s, payload, size, 0);
        }
        pause.tv_sec = 2;
        nanosleep(&pause, NULL);
        return 0;
    }
    if (strcmp(argv[1], "sub") == 0 && argc == 4) {
        int n = atoi(argv[3]);
        void *s = zmq_socket(ctx, ZMQ_SUB);
        int hwm = 0, timeout = 10000;
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
        zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "decision.", 9);
        zmq_connect(s, argv[2]);
        char buf[65536];
        double t0 = 0;
        int got = 0;
        while (got < n) {
            int more = 0;
            size_t ms = sizeof more;
            do {
                if (zmq_recv(s, buf, sizeof buf, 0) < 0) { fprintf(stderr, "sub: received %d of %d\n", got, n); goto done; }
                zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ms);
            } while (more);
            if (got == 0) t0 = now_us();
            got++;
        }
    done:
        printf("{\"n\":%d,\"per_second\":%.0f}\n", got, got > 1 ? (got - 1) / ((now_us() - t0) / 1e6) : 0.0);
        return got == n ? 0 : 1;
    }
    fprintf(stderr, "usage: see the comment at the top of zmq_bench.c\n");
    return 2;
}
