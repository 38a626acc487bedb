/*
 * Preloaded into every CRIU that thaw runs (scripts/install-criu.sh puts it on the unpacked dynamic
 * loader's --preload list): a process that CRIU forked and that calls exit() ends at once, without
 * the exit handlers and library destructors that exit() would run.
 *
 * Why: CRIU forks helpers that live for a whole restore, the user namespace's daemon above all, and
 * waits for each to end before it lets the restored process run. A forked helper shares every page
 * of CRIU copy-on-write, and exit() in it runs the destructors of the twenty-odd libraries CRIU
 * links (GnuTLS, nftables, libnet, ...) and the loader's own cleanup: each writes to a page of its
 * library's data, so each takes a copy-on-write fault and a TLB flush. On a virtual machine where
 * page faults are expensive that made a sandboxed restore wait milliseconds for its daemon to end.
 * Nothing in those destructors matters to a process about to vanish; buffered standard output is
 * still flushed, as exit() would.
 *
 * CRIU's own process (the one the loader started) keeps the real exit(): its destructor writes log
 * lines buffered before the log file was open, and such lines exist only there.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

static pid_t first_process;

__attribute__((constructor)) static void remember_first_process(void) {
    first_process = getpid();
}

__attribute__((noreturn)) void exit(int status) {
    if (getpid() != first_process) {
        fflush(NULL);
        _exit(status);
    }
    void (*real_exit)(int) = (void (*)(int)) dlsym(RTLD_NEXT, "exit");
    if (real_exit == NULL) {
        fflush(NULL);
        _exit(status);
    }
    real_exit(status);
    __builtin_unreachable();
}
