#!/usr/bin/env bash
# What installing the sandbox's seccomp filter costs per thread. CRIU restores a clone's filter
# thread by thread (each thread of the restored process loads its own copy, which the kernel checks
# and compiles), so a restore pays this once per thread of the instance. Each round starts THREADS
# threads that wait at a barrier, then each loads a filter and waits at a second one; the time
# between the two barriers is printed per mode: none (no filter), the sandbox's own filter
# (sandbox/src/main/c/seccomp.h, the launcher's code) and a one-instruction filter (what any
# filter costs, whatever its length). Modes take turns; medians at the end. Needs gcc.
#
# Usage: scripts/seccomp-install-cost.sh [THREADS] [ROUNDS]      (default 25 threads, 15 rounds)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
THREADS=${1:-25}
ROUNDS=${2:-15}
WORK=$(mktemp -d /tmp/thaw-seccomp-cost-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cat > "$WORK/cost.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "seccomp.h"

static int mode; /* 0: no filter, 1: the sandbox's filter, 2: one instruction */
static pthread_barrier_t barrier;

static void *thread(void *unused) {
    (void) unused;
    pthread_barrier_wait(&barrier);
    int r = 0;
    if (mode == 1) {
        r = install_seccomp();
    } else if (mode == 2) {
        struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
        struct sock_fprog one = {.len = 1, .filter = allow};
        r = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &one);
    }
    if (r != 0) {
        perror("seccomp");
        exit(1);
    }
    pthread_barrier_wait(&barrier);
    return NULL;
}

int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    mode = atoi(argv[2]);
    pthread_t *t = calloc((size_t) n, sizeof *t);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    pthread_barrier_init(&barrier, NULL, (unsigned) n + 1);
    for (int i = 0; i < n; i++) {
        pthread_create(&t[i], NULL, thread, NULL);
    }
    struct timespec a, b;
    pthread_barrier_wait(&barrier);
    clock_gettime(CLOCK_MONOTONIC, &a);
    pthread_barrier_wait(&barrier);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.3f\n", (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6);
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
    }
    return 0;
}
EOF
gcc -O2 -Wall -pthread -I "$ROOT/sandbox/src/main/c" -o "$WORK/cost" "$WORK/cost.c"
echo "# seccomp-install-cost: commit $(git -C "$ROOT" rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r), bpf_jit_enable $(cat /proc/sys/net/core/bpf_jit_enable 2>/dev/null || echo '?')"
for mode in 0 1 2; do : > "$WORK/mode-$mode"; done
for _ in $(seq 1 "$ROUNDS"); do
  for mode in 0 1 2; do "$WORK/cost" "$THREADS" "$mode" >> "$WORK/mode-$mode"; done
done
median() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
printf '%d threads, %d rounds, ms between the barriers (median):\n' "$THREADS" "$ROUNDS"
printf '  no filter            %s\n' "$(median "$WORK/mode-0")"
printf '  the sandbox filter   %s\n' "$(median "$WORK/mode-1")"
printf '  a one-line filter    %s\n' "$(median "$WORK/mode-2")"
