/*
 * Preloaded into every CRIU that thaw runs (scripts/install-criu.sh puts it on the unpacked dynamic
 * loader's --preload list). It does two things.
 *
 * 1. A process that CRIU forked and that calls exit() ends at once, without the exit handlers and
 *    library destructors that exit() would run. CRIU forks helpers that live for a whole restore,
 *    the user namespace's daemon above all, and waits for each to end before it lets the restored
 *    process run. A forked helper shares every page of CRIU copy-on-write, and exit() in it runs the
 *    destructors of the twenty-odd libraries CRIU links (GnuTLS, nftables, libnet, ...) and the
 *    loader's own cleanup: each writes to a page of its library's data, so each takes a
 *    copy-on-write fault and a TLB flush. On a virtual machine where page faults are expensive that
 *    made a sandboxed restore wait milliseconds for its daemon to end. Nothing in those destructors
 *    matters to a process about to vanish; buffered standard output is still flushed, as exit()
 *    would. CRIU's own process (the one the loader started) keeps the real exit(): its destructor
 *    writes log lines buffered before the log file was open, and such lines exist only there.
 *
 * 2. CRIU started ahead of its command line. Loading and relocating CRIU's libraries costs every
 *    run milliseconds of page faults before main() starts. When THAW_CRIU_COMMAND_FD names a
 *    descriptor, this CRIU has been started ahead (by a parked restore launcher): with every library
 *    loaded, and before main(), it reads its real command line from that descriptor (arguments
 *    ended by NUL bytes, then the end of the stream) and runs main() with it. The command line may
 *    start with the loader and its options: everything before the first argument equal to this
 *    program's path is dropped. An empty stream means the restore was cancelled: it exits 0.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define COMMAND_FD_VARIABLE "THAW_CRIU_COMMAND_FD"

extern char **environ;

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

static __attribute__((noreturn)) void refuse(const char *what) {
    fprintf(stderr, "thaw-criu-preload: %s: %s\n", what, strerror(errno));
    _exit(127);
}

/* Reads the whole stream of fd; returns its size (its buffer in *out, NUL-terminated beyond it). */
static size_t read_all(int fd, char **out) {
    size_t size = 0, cap = 4096;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        refuse("the command line");
    }
    for (;;) {
        if (size == cap) {
            char *bigger = realloc(buf, (cap *= 2) + 1);
            if (bigger == NULL) {
                refuse("the command line");
            }
            buf = bigger;
        }
        ssize_t n = read(fd, buf + size, cap - size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            refuse("reading the command line");
        }
        if (n == 0) {
            break;
        }
        size += (size_t) n;
    }
    buf[size] = 0;
    *out = buf;
    return size;
}

/*
 * The command line as an argument vector laid out as the kernel lays out a new program's: the
 * arguments, a NULL, then the environment, so that code looking for the environment after the
 * arguments finds it.
 */
static char **command_line(char *buf, size_t size, const char *program, int *argc) {
    int count = 0;
    for (size_t i = 0; i < size; i++) {
        count += buf[i] == 0;
    }
    int env = 0;
    while (environ[env] != NULL) {
        env++;
    }
    char **args = calloc((size_t) count + (size_t) env + 2, sizeof *args);
    if (args == NULL) {
        refuse("the command line");
    }
    int n = 0;
    for (size_t i = 0; i < size; i += strlen(buf + i) + 1) {
        args[n++] = buf + i;
    }
    int first = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(args[i], program) == 0) {
            first = i;
            break;
        }
    }
    int kept = n - first;
    memmove(args, args + first, (size_t) kept * sizeof *args);
    args[kept] = NULL;
    memcpy(args + kept + 1, environ, ((size_t) env + 1) * sizeof *environ);
    *argc = kept;
    return args;
}

typedef int (*main_function)(int, char **, char **);
typedef int (*start_function)(main_function, int, char **, void (*)(void), void (*)(void), void (*)(void), void *);

int __libc_start_main(main_function main, int argc, char **argv, void (*init)(void), void (*fini)(void),
                      void (*rtld_fini)(void), void *stack_end) {
    start_function real_start = (start_function) dlsym(RTLD_NEXT, "__libc_start_main");
    if (real_start == NULL) {
        errno = ENOSYS;
        refuse("__libc_start_main");
    }
    const char *fd_text = getenv(COMMAND_FD_VARIABLE);
    if (fd_text != NULL && argc > 0) {
        int fd = atoi(fd_text);
        unsetenv(COMMAND_FD_VARIABLE);
        char *buf;
        size_t size = read_all(fd, &buf);
        close(fd);
        if (size == 0) {
            _exit(0); /* cancelled */
        }
        if (buf[size - 1] != 0) {
            errno = EINVAL;
            refuse("the command line is not NUL-terminated");
        }
        argv = command_line(buf, size, argv[0], &argc);
    }
    return real_start(main, argc, argv, init, fini, rtld_fini, stack_end);
}
