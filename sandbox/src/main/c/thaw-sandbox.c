/*
 * thaw-sandbox: the launcher of thaw's function instances.
 *
 * One small program, run by the node as root, in four modes:
 *
 *   boot     starts a program as pid 1 of new user, pid and mount namespaces, inside a network
 *            namespace and cgroups the node made and ipc and uts namespaces made first, on a
 *            read-only root built from a skeleton directory and bind mounts, as an unprivileged
 *            user with no capabilities, no_new_privs and a seccomp filter; then stays as its
 *            supervisor and exits with its status.
 *   restore  joins the network namespace and cgroups of a clone, makes its ipc and uts namespaces,
 *            arms the parent-death signal and execs the given CRIU command line, in a private
 *            mount namespace where the skeleton is a mount point (CRIU's --root must be one) and
 *            the sources of the instance's bind mounts are staged where CRIU can reach them from
 *            inside the user namespace.
 *            Parked (--park-fd), it does all that ahead of the restore and waits for the command
 *            line, taking the cgroup joins' cost off the restore's path.
 *   exec     joins a network namespace (and with --ns-of, an instance's ipc and uts namespaces) and
 *            execs a command (criu dump runs inside them, so that CRIU does not see them as
 *            namespaces to dump).
 *   check    proves that this machine lets root make the namespaces boot needs; prints "ok".
 *
 * Why each piece is there (sandbox/README.md has the long form):
 *  - A user namespace created by root maps inside-uid 0 and inside-uid 1000 to two host uids of the
 *    function's own. CRIU must be able to dump a task whose uid is not root's; in the initial user
 *    namespace that needs CAP_SYS_RESOURCE (CRIU's prlimit on a foreign task), which root may lack.
 *    Inside a user namespace made by root, root has every capability over the task.
 *  - The network namespace is made by the node (owned by the initial user namespace) and joined
 *    before the user namespace is created, and CRIU runs inside it: CRIU then neither dumps nor
 *    rebuilds it, and each clone lands in a namespace the node made for it.
 *  - The supervisor dies with the node: PR_SET_PDEATHSIG, armed first thing, fires when the node's
 *    spawning thread exits; a lifeline pipe whose write end only the node holds catches a node that
 *    died before the signal was armed, and is watched for as long as the supervisor runs. pid 1 of
 *    the instance arms its own parent-death signal after its credentials changed (a uid change
 *    clears it), and checks that the supervisor still holds the sync pipe (getppid() is 0 in a new
 *    pid namespace).
 *
 * Failures before the program (or CRIU) runs print one line to stderr,
 *   thaw-sandbox: <step>: <detail>: <strerror> (errno N)
 * and exit with the step's own code (200 and up: enum step below); otherwise boot exits with the
 * program's status, 128 + the signal when it was killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "seccomp.h"

#define VERSION "thaw-sandbox 1"

/* Exit codes: one per step that can fail before the program or CRIU runs (LauncherExit.java names them too). */
enum step {
    S_USAGE = 200,
    S_PDEATHSIG = 201,
    S_LIFELINE = 202,
    S_NETNS = 203,
    S_CGROUP = 204,
    S_SETGROUPS = 205,
    S_RLIMIT = 206,
    S_PIPE = 207,
    S_CLONE = 208,
    S_IDMAP = 209,
    S_SYNC = 210,
    S_MOUNT_PRIVATE = 211,
    S_ROOT_BIND = 212,
    S_BIND = 213,
    S_DEVICE = 214,
    S_SCRATCH = 215,
    S_PROC = 216,
    S_PIVOT_ROOT = 217,
    S_READ_ONLY_ROOT = 218,
    S_HOSTNAME = 219,
    S_SETSID = 220,
    S_SETGID = 221,
    S_SETUID = 222,
    S_CAPABILITIES = 223,
    S_NO_NEW_PRIVS = 224,
    S_CHDIR = 225,
    S_SECCOMP = 226,
    S_EXEC = 227,
    S_WAIT = 228,
    S_UNSHARE = 229,
    S_STAGE = 230,
    S_PARK = 231,
    S_IPC_UTS = 232,
    S_JOIN_IPC_UTS = 233,
};

#define MAX_LIST 64

struct bind {
    const char *src;
    const char *dst;
    int read_only;
};

struct limit {
    int resource;
    rlim_t soft, hard;
};

static struct {
    const char *mode;
    int lifeline_fd;
    int netns_fd;
    const char *netns_path;
    const char *cgroups[MAX_LIST];
    int ncgroups;
    const char *uid_map, *gid_map;
    uid_t uid;
    gid_t gid;
    const char *root;
    struct bind binds[MAX_LIST];
    int nbinds;
    const char *devices[MAX_LIST];
    int ndevices;
    const char *scratch;
    struct limit limits[16];
    int nlimits;
    const char *chdir_to;
    const char *hostname;
    int seccomp;
    int root_devices; /* the skeleton holds the device nodes: / is not mounted nodev */
    const char *stage;
    struct bind staged[MAX_LIST];
    int nstaged;
    const char *hide;
    int park_fd;
    int supervise;
    int ns_of;
    char *ahead[MAX_LIST + 1]; /* CRIU's program (loader, options, binary), started before its command line */
    int nahead;
    char **argv;
} opt = {.lifeline_fd = -1, .netns_fd = -1, .uid = 1000, .gid = 1000, .seccomp = 1, .park_fd = -1, .ns_of = -1};

/* The boot child reports the step it failed at to its supervisor through this pipe (-1 elsewhere). */
static int report_fd = -1;

static void fail(int step, const char *what, const char *detail, int err) __attribute__((noreturn));

/* Prints the one line and exits with the step's code; in the boot child, tells the supervisor first. */
static void fail(int step, const char *what, const char *detail, int err) {
    if (err) {
        fprintf(stderr, "thaw-sandbox: %s%s%s: %s (errno %d)\n", what, detail ? ": " : "", detail ? detail : "",
                strerror(err), err);
    } else {
        fprintf(stderr, "thaw-sandbox: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    }
    fflush(stderr);
    if (report_fd >= 0) {
        int32_t msg[2] = {step, err};
        if (write(report_fd, msg, sizeof msg) < 0) {
            /* the supervisor is gone: nothing left to tell */
        }
        _exit(step);
    }
    exit(step);
}

static void usage(const char *detail) {
    fail(S_USAGE, "usage", detail, 0);
}

static int parse_int(const char *s, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > INT_MAX) {
        usage(what);
    }
    return (int) v;
}

static const struct {
    const char *name;
    int resource;
} RLIMITS[] = {
    {"nofile", RLIMIT_NOFILE}, {"nproc", RLIMIT_NPROC}, {"core", RLIMIT_CORE}, {"fsize", RLIMIT_FSIZE},
    {"stack", RLIMIT_STACK}, {"as", RLIMIT_AS}, {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
    {"sigpending", RLIMIT_SIGPENDING}, {"locks", RLIMIT_LOCKS},
};

/* --rlimit NAME=SOFT[:HARD] */
static void parse_rlimit(char *spec) {
    char *eq = strchr(spec, '=');
    if (!eq || opt.nlimits == (int) (sizeof opt.limits / sizeof opt.limits[0])) {
        usage("--rlimit NAME=SOFT[:HARD]");
    }
    *eq = 0;
    int resource = -1;
    for (size_t i = 0; i < sizeof RLIMITS / sizeof RLIMITS[0]; i++) {
        if (!strcmp(RLIMITS[i].name, spec)) {
            resource = RLIMITS[i].resource;
        }
    }
    if (resource < 0) {
        usage("--rlimit: unknown resource");
    }
    char *colon = strchr(eq + 1, ':');
    if (colon) {
        *colon = 0;
    }
    struct limit *l = &opt.limits[opt.nlimits++];
    l->resource = resource;
    l->soft = (rlim_t) strtoull(eq + 1, NULL, 10);
    l->hard = colon ? (rlim_t) strtoull(colon + 1, NULL, 10) : l->soft;
}

/* --bind SRC:DST[:ro|:rw]; DST is absolute, SRC may contain ':' */
static void parse_bind(char *spec) {
    if (opt.nbinds == MAX_LIST) {
        usage("too many --bind");
    }
    struct bind *b = &opt.binds[opt.nbinds++];
    b->read_only = 1;
    char *last = strrchr(spec, ':');
    if (last && (!strcmp(last, ":ro") || !strcmp(last, ":rw"))) {
        b->read_only = last[2] == 'o';
        *last = 0;
    }
    char *sep = strrchr(spec, ':');
    if (!sep || sep[1] != '/' || sep == spec) {
        usage("--bind SRC:DST[:ro|:rw] with an absolute DST");
    }
    *sep = 0;
    b->src = spec;
    b->dst = sep + 1;
}

static void parse(int argc, char **argv) {
    if (argc < 2) {
        usage("thaw-sandbox boot|restore|exec|check [options] -- command...");
    }
    opt.mode = argv[1];
    int i = 2;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (i + 1 >= argc) {
            usage(a);
        }
        char *v = argv[++i];
        if (!strcmp(a, "--lifeline-fd")) {
            opt.lifeline_fd = parse_int(v, a);
        } else if (!strcmp(a, "--netns-fd")) {
            opt.netns_fd = parse_int(v, a);
        } else if (!strcmp(a, "--netns")) {
            opt.netns_path = v;
        } else if (!strcmp(a, "--cgroup")) {
            if (opt.ncgroups == MAX_LIST) {
                usage("too many --cgroup");
            }
            opt.cgroups[opt.ncgroups++] = v;
        } else if (!strcmp(a, "--uid-map")) {
            opt.uid_map = v;
        } else if (!strcmp(a, "--gid-map")) {
            opt.gid_map = v;
        } else if (!strcmp(a, "--user")) {
            char *colon = strchr(v, ':');
            if (!colon) {
                usage("--user UID:GID");
            }
            *colon = 0;
            opt.uid = (uid_t) parse_int(v, a);
            opt.gid = (gid_t) parse_int(colon + 1, a);
        } else if (!strcmp(a, "--root")) {
            opt.root = v;
        } else if (!strcmp(a, "--bind")) {
            parse_bind(v);
        } else if (!strcmp(a, "--dev")) {
            if (opt.ndevices == MAX_LIST || v[0] != '/') {
                usage("--dev /dev/NAME");
            }
            opt.devices[opt.ndevices++] = v;
        } else if (!strcmp(a, "--root-devices")) {
            opt.root_devices = strcmp(v, "off") != 0;
        } else if (!strcmp(a, "--scratch")) {
            opt.scratch = v;
        } else if (!strcmp(a, "--rlimit")) {
            parse_rlimit(v);
        } else if (!strcmp(a, "--chdir")) {
            opt.chdir_to = v;
        } else if (!strcmp(a, "--hostname")) {
            opt.hostname = v;
        } else if (!strcmp(a, "--stage")) {
            opt.stage = v;
        } else if (!strcmp(a, "--park-fd")) {
            opt.park_fd = parse_int(v, a);
        } else if (!strcmp(a, "--supervise")) {
            opt.supervise = parse_int(v, a);
        } else if (!strcmp(a, "--ns-of")) {
            opt.ns_of = parse_int(v, a);
        } else if (!strcmp(a, "--hide")) {
            opt.hide = v;
        } else if (!strcmp(a, "--stage-bind")) {
            char *colon = strrchr(v, ':');
            if (!colon || colon == v || !colon[1] || strchr(colon + 1, '/') || opt.nstaged == MAX_LIST) {
                usage("--stage-bind SRC:NAME");
            }
            *colon = 0;
            opt.staged[opt.nstaged].src = v;
            opt.staged[opt.nstaged].dst = colon + 1;
            opt.nstaged++;
        } else if (!strcmp(a, "--ahead")) {
            if (opt.nahead == MAX_LIST) {
                usage("too many --ahead");
            }
            opt.ahead[opt.nahead++] = v;
        } else if (!strcmp(a, "--seccomp")) {
            opt.seccomp = strcmp(v, "off") != 0;
        } else {
            usage(a);
        }
    }
    opt.argv = argv + i;
}

/* Dies with the parent (thread) that started us; then makes sure that parent did not die first. */
static void tie_to_parent(void) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)) {
        fail(S_PDEATHSIG, "prctl(PR_SET_PDEATHSIG)", NULL, errno);
    }
    if (opt.lifeline_fd >= 0) {
        struct pollfd p = {opt.lifeline_fd, POLLIN, 0};
        int r = poll(&p, 1, 0);
        if (r < 0) {
            fail(S_LIFELINE, "poll(lifeline)", NULL, errno);
        }
        if (r > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) {
            fail(S_LIFELINE, "lifeline", "the node is gone", 0);
        }
        if (fcntl(opt.lifeline_fd, F_SETFD, FD_CLOEXEC)) {
            fail(S_LIFELINE, "fcntl(lifeline)", NULL, errno);
        }
    }
}

static void join_netns(void) {
    int fd = opt.netns_fd;
    if (opt.netns_path) {
        fd = open(opt.netns_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fail(S_NETNS, "open", opt.netns_path, errno);
        }
    }
    if (fd < 0) {
        return;
    }
    if (setns(fd, CLONE_NEWNET)) {
        fail(S_NETNS, "setns(CLONE_NEWNET)", opt.netns_path, errno);
    }
    close(fd);
}

/*
 * The ipc and uts namespaces of an instance are made here, by root, before the user namespace, so
 * that they are owned by the initial user namespace: CRIU, which dumps from inside them (exec
 * --ns-of) and restores from inside fresh ones (restore), then neither dumps nor rebuilds them, as
 * with the network namespace. The instance still has its own of each; it cannot change either
 * (it has no capability in their owner), and its hostname is set here.
 */
static void new_ipc_uts(void) {
    if (unshare(CLONE_NEWIPC | CLONE_NEWUTS)) {
        fail(S_IPC_UTS, "unshare(CLONE_NEWIPC|CLONE_NEWUTS)", NULL, errno);
    }
    if (opt.hostname && sethostname(opt.hostname, strlen(opt.hostname))) {
        fail(S_HOSTNAME, "sethostname", opt.hostname, errno);
    }
}

/* Joins the ipc and uts namespaces of process --ns-of (an instance's pid 1), for criu dump. */
static void join_ipc_uts(void) {
    if (opt.ns_of < 0) {
        return;
    }
    const char *types[] = {"ipc", "uts"};
    int flags[] = {CLONE_NEWIPC, CLONE_NEWUTS};
    for (int i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/%s", opt.ns_of, types[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, flags[i])) {
            fail(S_JOIN_IPC_UTS, "setns", path, errno);
        }
        close(fd);
    }
}

static void join_cgroups(void) {
    char path[PATH_MAX], pid[32];
    int len = snprintf(pid, sizeof pid, "%d\n", getpid());
    for (int i = 0; i < opt.ncgroups; i++) {
        snprintf(path, sizeof path, "%s/cgroup.procs", opt.cgroups[i]);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) {
            fail(S_CGROUP, "open", path, errno);
        }
        if (write(fd, pid, len) != len) {
            fail(S_CGROUP, "join", path, errno);
        }
        close(fd);
    }
}

static void set_limits(void) {
    for (int i = 0; i < opt.nlimits; i++) {
        struct rlimit r = {opt.limits[i].soft, opt.limits[i].hard};
        if (setrlimit(opt.limits[i].resource, &r)) {
            fail(S_RLIMIT, "setrlimit", NULL, errno);
        }
    }
}

/* "0:2000000000:1,1000:2000000001:1" -> "0 2000000000 1\n1000 2000000001 1\n" */
static void write_id_map(pid_t pid, const char *file, const char *spec) {
    char path[64], map[512];
    size_t n = 0;
    for (const char *s = spec; *s && n < sizeof map - 2; s++) {
        map[n++] = *s == ':' ? ' ' : *s == ',' ? '\n' : *s;
    }
    map[n++] = '\n';
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, map, n) != (ssize_t) n) {
        fail(S_IDMAP, "write", path, errno);
    }
    close(fd);
}

static void write_file(pid_t pid, const char *file, const char *text, int step) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text)) {
        fail(step, "write", path, errno);
    }
    close(fd);
}

/*
 * The flags a bind mount inherits and may not drop inside a user namespace (the kernel locks them):
 * a remount that omitted them would fail with EPERM.
 */
static unsigned long locked_flags(const char *path) {
    struct statvfs s;
    if (statvfs(path, &s)) {
        return 0;
    }
    unsigned long f = 0;
    if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
    if (s.f_flag & ST_NODEV) f |= MS_NODEV;
    if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
    if (s.f_flag & ST_RDONLY) f |= MS_RDONLY;
    if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
    if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
    if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
    return f;
}

static void inside(char *buf, size_t size, const char *dst) {
    if ((size_t) snprintf(buf, size, "%s%s", opt.root, dst) >= size) {
        fail(S_BIND, "path too long", dst, 0);
    }
}

/* Binds src at dst inside the new root; remounts it with flags (plus those it must keep). */
static void bind(int step, const char *src, const char *dst, unsigned long flags) {
    char target[PATH_MAX];
    inside(target, sizeof target, dst);
    if (mount(src, target, NULL, MS_BIND | MS_REC, NULL)) {
        fail(step, "bind mount", src, errno);
    }
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | flags | locked_flags(target), NULL)) {
        fail(step, "remount", target, errno);
    }
}

/* Every capability dropped from every set; called while still root in the user namespace. */
static void drop_bounding_set(void) {
    for (int cap = 0; cap <= 63; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL) {
            fail(S_CAPABILITIES, "prctl(PR_CAPBSET_DROP)", NULL, errno);
        }
    }
}

static void drop_other_sets(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    if (syscall(SYS_capset, &h, d)) {
        fail(S_CAPABILITIES, "capset", NULL, errno);
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) {
        fail(S_CAPABILITIES, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", NULL, errno);
    }
}

/* pid 1 of the new namespaces: builds the root, drops every privilege, execs the program. */
static void instance_init(int sync_fd) __attribute__((noreturn));

static void instance_init(int sync_fd) {
    char go;
    if (read(sync_fd, &go, 1) != 1) {
        fail(S_SYNC, "wait for the supervisor", NULL, errno); /* it died before mapping our ids */
    }
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
        fail(S_MOUNT_PRIVATE, "make / private", NULL, errno);
    }
    if (mount(opt.root, opt.root, NULL, MS_BIND, NULL)) {
        fail(S_ROOT_BIND, "bind the root onto itself", opt.root, errno);
    }
    for (int i = 0; i < opt.nbinds; i++) {
        struct bind *b = &opt.binds[i];
        bind(S_BIND, b->src, b->dst, MS_NOSUID | MS_NODEV | (b->read_only ? MS_RDONLY : 0));
    }
    for (int i = 0; i < opt.ndevices; i++) {
        bind(S_DEVICE, opt.devices[i], opt.devices[i], MS_NOSUID | MS_NOEXEC | MS_RDONLY);
    }
    if (opt.scratch) {
        bind(S_SCRATCH, opt.scratch, "/tmp", MS_NOSUID | MS_NODEV);
    }
    char proc[PATH_MAX];
    inside(proc, sizeof proc, "/proc");
    if (mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
        fail(S_PROC, "mount proc", proc, errno);
    }
    if (chdir(opt.root)) {
        fail(S_PIVOT_ROOT, "chdir", opt.root, errno);
    }
    if (syscall(SYS_pivot_root, ".", ".")) {
        fail(S_PIVOT_ROOT, "pivot_root", opt.root, errno);
    }
    if (umount2(".", MNT_DETACH)) {
        fail(S_PIVOT_ROOT, "detach the old root", NULL, errno);
    }
    if (chdir("/")) {
        fail(S_PIVOT_ROOT, "chdir", "/", errno);
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | (opt.root_devices ? 0 : MS_NODEV) | locked_flags("/"), NULL)) {
        fail(S_READ_ONLY_ROOT, "remount / read-only", NULL, errno);
    }
    if (setsid() < 0) {
        fail(S_SETSID, "setsid", NULL, errno);
    }
    drop_bounding_set(); /* needs CAP_SETPCAP, which the uid change below takes away */
    if (setresgid(opt.gid, opt.gid, opt.gid)) {
        fail(S_SETGID, "setresgid", NULL, errno);
    }
    if (setresuid(opt.uid, opt.uid, opt.uid)) {
        fail(S_SETUID, "setresuid", NULL, errno);
    }
    drop_other_sets();
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        fail(S_NO_NEW_PRIVS, "prctl(PR_SET_NO_NEW_PRIVS)", NULL, errno);
    }
    /* cleared by the uid change: armed only now, then the supervisor is checked to still be there */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)) {
        fail(S_PDEATHSIG, "prctl(PR_SET_PDEATHSIG)", NULL, errno);
    }
    struct pollfd p = {sync_fd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) {
        fail(S_SYNC, "supervisor", "gone before the program started", 0);
    }
    close(sync_fd);
    if (opt.chdir_to && chdir(opt.chdir_to)) {
        fail(S_CHDIR, "chdir", opt.chdir_to, errno);
    }
    if (opt.seccomp && install_seccomp()) {
        fail(S_SECCOMP, "seccomp", NULL, errno);
    }
    execvp(opt.argv[0], opt.argv);
    fail(S_EXEC, "exec", opt.argv[0], errno);
}

static volatile pid_t child_pid;

static void forward(int sig) {
    if (child_pid > 0) {
        kill(child_pid, sig);
    }
}

/* Waits for pid 1, for the node's lifeline to break, or for the child's report; never returns. */
static void supervise(pid_t pid, int report_read) __attribute__((noreturn));

static void supervise(pid_t pid, int report_read) {
    int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) {
        kill(pid, SIGKILL);
        fail(S_WAIT, "pidfd_open", NULL, errno);
    }
    int failed_step = 0;
    for (;;) {
        struct pollfd p[3] = {{pidfd, POLLIN, 0}, {report_read, POLLIN, 0}, {opt.lifeline_fd, POLLIN, 0}};
        int r = poll(p, 3, -1);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            kill(pid, SIGKILL);
            fail(S_WAIT, "poll", NULL, errno);
        }
        if (p[1].revents) {
            int32_t msg[2];
            if (read(report_read, msg, sizeof msg) == (ssize_t) sizeof msg) {
                failed_step = msg[0]; /* the child printed why and exits with this code */
            }
            close(report_read);
            report_read = -1; /* EOF without a message: the program was exec'd */
        }
        if (p[2].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            kill(pid, SIGKILL); /* the node is gone: its instance goes too */
            close(opt.lifeline_fd);
            opt.lifeline_fd = -1;
        }
        if (p[0].revents) {
            break;
        }
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fail(S_WAIT, "waitpid", NULL, errno);
        }
    }
    if (failed_step) {
        exit(failed_step);
    }
    exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static void boot(void) {
    if (!opt.root || !opt.uid_map || !opt.gid_map || !opt.argv[0]) {
        usage("boot needs --root, --uid-map, --gid-map and a program");
    }
    tie_to_parent();
    join_netns();
    join_cgroups();
    /* no supplementary group of root's may reach the instance (they would still grant access) */
    if (setgroups(0, NULL)) {
        fail(S_SETGROUPS, "setgroups", NULL, errno);
    }
    set_limits();
    new_ipc_uts();
    int sync[2], report[2];
    if (pipe2(sync, O_CLOEXEC) || pipe2(report, O_CLOEXEC)) {
        fail(S_PIPE, "pipe2", NULL, errno);
    }
    fflush(stderr);
    pid_t pid = (pid_t) syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0) {
        fail(S_CLONE, "clone", NULL, errno);
    }
    if (pid == 0) {
        close(sync[1]);
        close(report[0]);
        report_fd = report[1];
        instance_init(sync[0]);
    }
    child_pid = pid;
    close(sync[0]);
    close(report[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
        sigaction(forwarded[i], &sa, NULL);
    }
    write_file(pid, "setgroups", "deny", S_IDMAP);
    write_id_map(pid, "uid_map", opt.uid_map);
    write_id_map(pid, "gid_map", opt.gid_map);
    if (write(sync[1], "g", 1) != 1) {
        kill(pid, SIGKILL);
        fail(S_SYNC, "start the instance", NULL, errno);
    }
    /* sync[1] stays open: pid 1 checks that it still is, after arming its parent-death signal */
    supervise(pid, report[0]);
}

/*
 * CRIU makes a restored instance's bind mounts from inside its user namespace, as the instance's
 * root (a host uid of the function's, not root): it must be able to walk to every source, and a
 * node's data directory is rarely open to others. In this restore's own mount namespace, a tmpfs
 * on --stage (a directory every user can walk to) gets a directory per --stage-bind with the source
 * bound on it; CRIU is given those paths.
 */
static void stage(void) {
    if (!opt.stage) {
        return;
    }
    if (mount("thaw-stage", opt.stage, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k")) {
        fail(S_STAGE, "mount a tmpfs on", opt.stage, errno);
    }
    char target[PATH_MAX];
    for (int i = 0; i < opt.nstaged; i++) {
        if ((size_t) snprintf(target, sizeof target, "%s/%s", opt.stage, opt.staged[i].dst) >= sizeof target) {
            fail(S_STAGE, "path too long", opt.staged[i].dst, 0);
        }
        if (mkdir(target, 0755)) {
            fail(S_STAGE, "mkdir", target, errno);
        }
        if (mount(opt.staged[i].src, target, NULL, MS_BIND | MS_REC, NULL)) {
            fail(S_STAGE, "bind mount", opt.staged[i].src, errno);
        }
    }
}

/* Undoes mountinfo's octal escapes (\040 for a space and so on) in place. */
static void unescape(char *s) {
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            *out++ = (char) ((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = 0;
}

/*
 * CRIU stays, as the clone's parent, in this restore's mount namespace for as long as the clone
 * runs. That namespace began as a copy of the node's, with every other instance's scratch in it:
 * kept there, a scratch the node unmounts would live on (and keep its memory) until this restore's
 * clone exits. Once this clone's own scratch is staged, every mount below --hide is detached.
 */
static void hide(void) {
    if (!opt.hide) {
        return;
    }
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) {
        fail(S_STAGE, "open", "/proc/self/mountinfo", errno);
    }
    size_t prefix = strlen(opt.hide);
    char *line = NULL, *targets[1024];
    size_t cap = 0;
    int n = 0;
    while (getline(&line, &cap, f) > 0 && n < 1024) {
        char point[PATH_MAX];
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1) {
            continue;
        }
        unescape(point);
        if (!strncmp(point, opt.hide, prefix) && point[prefix] == '/') {
            targets[n++] = strdup(point);
        }
    }
    free(line);
    fclose(f);
    for (int i = n - 1; i >= 0; i--) { /* mountinfo lists parents first: detach children first */
        if (umount2(targets[i], MNT_DETACH) && errno != EINVAL && errno != ENOENT) {
            fail(S_STAGE, "detach", targets[i], errno);
        }
        free(targets[i]);
    }
}

/*
 * Parked: everything is joined and mounted, and the command line arrives later on --park-fd, its
 * arguments separated by NUL bytes, ended by the node closing its end. Joining cgroups costs a
 * restore ~10 ms here (the first task migration waits for an RCU grace period): a launcher parked
 * ahead of the restore takes that, and its own start, off the restore's path. While it waits it
 * watches the lifeline. An end closed without a command line cancels it (exit 0).
 */
static void cancel_criu_ahead(void);

static char **await_command(void) {
    size_t size = 0, cap = 4096;
    char *buf = malloc(cap);
    for (;;) {
        struct pollfd p[2] = {{opt.park_fd, POLLIN, 0}, {opt.lifeline_fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail(S_PARK, "poll", NULL, errno);
        }
        if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            fail(S_LIFELINE, "lifeline", "the node is gone", 0);
        }
        if (!p[0].revents) {
            continue;
        }
        if (size == cap && !(buf = realloc(buf, cap *= 2))) {
            fail(S_PARK, "realloc", NULL, ENOMEM);
        }
        ssize_t n = read(opt.park_fd, buf + size, cap - size);
        if (n < 0 && errno != EINTR) {
            fail(S_PARK, "read the command line", NULL, errno);
        }
        if (n == 0) {
            break;
        }
        size += n > 0 ? (size_t) n : 0;
    }
    close(opt.park_fd);
    if (size == 0) {
        cancel_criu_ahead();
        exit(0); /* cancelled */
    }
    if (buf[size - 1]) {
        fail(S_PARK, "the command line", "not NUL-terminated", 0);
    }
    int argc = 0;
    for (size_t i = 0; i < size; i++) {
        argc += buf[i] == 0;
    }
    char **argv = calloc(argc + 1, sizeof *argv);
    for (size_t i = 0, a = 0; i < size; a++) {
        argv[a] = buf + i;
        i += strlen(buf + i) + 1;
    }
    return argv;
}

/* SIGKILLs every other process in this launcher's cgroups until none is left (for at most ~2 s). */
static void kill_cgroup_members(void) {
    pid_t self = getpid();
    for (int round = 0; round < 200; round++) {
        int others = 0;
        for (int i = 0; i < opt.ncgroups; i++) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/cgroup.procs", opt.cgroups[i]);
            FILE *procs = fopen(path, "re");
            if (!procs) {
                continue;
            }
            long pid;
            while (fscanf(procs, "%ld", &pid) == 1) {
                if (pid != self) {
                    kill((pid_t) pid, SIGKILL);
                    others++;
                }
            }
            fclose(procs);
        }
        while (waitpid(-1, NULL, WNOHANG) > 0) {
            /* this launcher's own children (CRIU, the root it made) are reaped, not left as zombies */
        }
        if (!others) {
            return;
        }
        usleep(10000);
    }
}

/*
 * The node went away while CRIU restored: CRIU and the tasks it made so far (the root is born
 * this launcher's child, the rest in the root's pid namespace) are killed, and with them anything
 * else in the instance's cgroups; a launcher without cgroups kills what it knows of.
 */
static void end_restore(pid_t criu) __attribute__((noreturn));

static void end_restore(pid_t criu) {
    kill(criu, SIGKILL);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", getpid(), getpid());
    FILE *children = fopen(path, "re");
    if (children) {
        long pid;
        while (fscanf(children, "%ld", &pid) == 1) {
            kill((pid_t) pid, SIGKILL);
        }
        fclose(children);
    }
    kill_cgroup_members();
    fail(S_LIFELINE, "lifeline", "the node is gone: the restore was stopped", 0);
}

/* Waits for CRIU to exit, watching the node's lifeline meanwhile; returns CRIU's wait status. */
static int await_criu(pid_t criu) {
    int pidfd = (int) syscall(SYS_pidfd_open, criu, 0);
    if (pidfd < 0) {
        kill(criu, SIGKILL);
        fail(S_WAIT, "pidfd_open", "criu", errno);
    }
    for (;;) {
        struct pollfd p[2] = {{pidfd, POLLIN, 0}, {opt.lifeline_fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            kill(criu, SIGKILL);
            fail(S_WAIT, "poll", "criu", errno);
        }
        if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            end_restore(criu);
        }
        if (p[0].revents) {
            break;
        }
    }
    close(pidfd);
    int status;
    while (waitpid(criu, &status, 0) < 0) {
        if (errno != EINTR) {
            fail(S_WAIT, "waitpid", "criu", errno);
        }
    }
    return status;
}

/*
 * CRIU started ahead (--ahead, parked and supervised): forked and exec'd before the command line
 * arrives, it loads and relocates its libraries while the launcher waits, then stops before main()
 * until the launcher writes its command line to it (thaw-criu-preload.c, THAW_CRIU_COMMAND_FD).
 * That takes CRIU's own start, milliseconds of page faults, off the restore's path. It dies with
 * this launcher (its parent-death signal), and a cancelled restore's end of the pipe closed
 * without a command line makes it exit 0.
 */
static pid_t ahead_criu = -1;
static int ahead_command_fd = -1;

/* Forks the process that becomes CRIU: it dies with this launcher (armed, then the launcher checked to still be there). */
static pid_t fork_criu(void) {
    pid_t launcher = getpid();
    fflush(stderr);
    pid_t criu = fork();
    if (criu < 0) {
        fail(S_CLONE, "fork", "criu", errno);
    }
    if (criu == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)) {
            fail(S_PDEATHSIG, "prctl(PR_SET_PDEATHSIG)", "criu", errno);
        }
        if (getppid() != launcher) {
            fail(S_PDEATHSIG, "criu", "the launcher was gone before CRIU started", 0);
        }
    }
    return criu;
}

static void start_criu_ahead(void) {
    int command[2];
    if (pipe2(command, O_CLOEXEC)) {
        fail(S_PIPE, "pipe2", "criu ahead", errno);
    }
    pid_t criu = fork_criu();
    if (criu == 0) {
        close(opt.park_fd); /* the node's command pipe is the launcher's to read */
        int fd = fcntl(command[0], F_DUPFD, 3); /* without close-on-exec */
        char number[16];
        snprintf(number, sizeof number, "%d", fd);
        if (fd < 0 || setenv("THAW_CRIU_COMMAND_FD", number, 1)) {
            fail(S_PIPE, "the command pipe", "criu ahead", errno);
        }
        execvp(opt.ahead[0], opt.ahead);
        fail(S_EXEC, "exec", opt.ahead[0], errno);
    }
    close(command[0]);
    ahead_criu = criu;
    ahead_command_fd = command[1];
}

/* @return whether argv starts with the program CRIU was started ahead with */
static int runs_ahead_program(char **argv) {
    for (int i = 0; i < opt.nahead; i++) {
        if (!argv[i] || strcmp(argv[i], opt.ahead[i])) {
            return 0;
        }
    }
    return 1;
}

/* Ends CRIU started ahead without a command line (it exits 0) and reaps it. */
static void cancel_criu_ahead(void) {
    if (ahead_criu < 0) {
        return;
    }
    close(ahead_command_fd);
    while (waitpid(ahead_criu, NULL, 0) < 0 && errno == EINTR) {
    }
    ahead_criu = -1;
    ahead_command_fd = -1;
}

/*
 * Hands CRIU started ahead its command line; returns its pid, or -1 when it is gone (it could not
 * start: reaped, and the caller starts CRIU as without --ahead, which reports why).
 */
static pid_t run_criu_ahead(char **argv) {
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; argv[i]; i++) {
        size_t len = strlen(argv[i]) + 1;
        for (size_t done = 0; done < len;) {
            ssize_t n = write(ahead_command_fd, argv[i] + done, len - done);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                kill(ahead_criu, SIGKILL);
                cancel_criu_ahead();
                return -1;
            }
            done += (size_t) n;
        }
    }
    close(ahead_command_fd);
    ahead_command_fd = -1;
    return ahead_criu;
}

/*
 * Supervised (--supervise 1): CRIU restores with --restore-detached --restore-sibling, so the clone's
 * root is born this launcher's child (CLONE_PARENT) and CRIU exits once it runs. The launcher then
 * supervises the root as boot does: it exits with the root's own status (128 + the signal that
 * killed it), which CRIU in the foreground would swallow (it reaps the tree and exits 0), and the
 * root's parent-death signal, restored from the image, ties it to this launcher.
 */
static void supervise_restore(char **argv) __attribute__((noreturn));

static void supervise_restore(char **argv) {
    const char *pidfile = NULL;
    for (int i = 0; argv[i]; i++) {
        if (!strcmp(argv[i], "--pidfile") && argv[i + 1]) {
            pidfile = argv[i + 1];
        }
    }
    if (!pidfile || !runs_ahead_program(argv)) {
        cancel_criu_ahead();
    }
    if (!pidfile) {
        /* not a CRIU restore of ours (nothing names the root to supervise): the command replaces this launcher */
        execvp(argv[0], argv);
        fail(S_EXEC, "exec", argv[0], errno);
    }
    /*
     * From here the node's death must not kill this launcher outright: CRIU's half-restored tasks
     * (born this launcher's children, not CRIU's) would outlive both. The lifeline, watched while
     * CRIU runs, says when the node is gone; end_restore then kills everything in the instance.
     */
    if (opt.lifeline_fd >= 0 && prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0)) {
        fail(S_PDEATHSIG, "prctl(PR_SET_PDEATHSIG)", NULL, errno);
    }
    pid_t criu = ahead_criu >= 0 ? run_criu_ahead(argv) : -1;
    if (criu < 0) {
        criu = fork_criu();
    }
    if (criu == 0) {
        execvp(argv[0], argv);
        fail(S_EXEC, "exec", argv[0], errno);
    }
    child_pid = criu;
    int status = await_criu(criu);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* the restore failed: CRIU's own log says why; its status is this launcher's */
        exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    char buf[32] = {0};
    int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0) {
        fail(S_WAIT, "read the restored root's pid", pidfile, errno);
    }
    close(fd);
    pid_t root = (pid_t) strtol(buf, NULL, 10);
    if (root <= 0) {
        fail(S_WAIT, "read the restored root's pid", pidfile, 0);
    }
    child_pid = root;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
        sigaction(forwarded[i], &sa, NULL);
    }
    supervise(root, -1);
}

static void restore(void) {
    if (!opt.argv[0] && opt.park_fd < 0) {
        usage("restore needs a CRIU command line, or --park-fd");
    }
    if (opt.argv[0] && opt.park_fd >= 0) {
        usage("restore takes a command line or --park-fd, not both");
    }
    if ((opt.stage || opt.hide) && !opt.root) {
        usage("--stage and --hide need --root (a mount namespace of the restore's own)");
    }
    tie_to_parent();
    join_netns();
    join_cgroups();
    new_ipc_uts();
    if (opt.root) {
        /* CRIU's --root must be a mount point: a bind onto itself, private to this restore */
        if (unshare(CLONE_NEWNS)) {
            fail(S_UNSHARE, "unshare(CLONE_NEWNS)", NULL, errno);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
            fail(S_MOUNT_PRIVATE, "make / private", NULL, errno);
        }
        if (mount(opt.root, opt.root, NULL, MS_BIND, NULL)) {
            fail(S_ROOT_BIND, "bind the root onto itself", opt.root, errno);
        }
        stage();
        hide();
    }
    if (opt.nahead > 0 && opt.park_fd >= 0 && opt.supervise) {
        start_criu_ahead();
    }
    char **argv = opt.park_fd >= 0 ? await_command() : opt.argv;
    if (opt.supervise) {
        supervise_restore(argv);
    }
    execvp(argv[0], argv);
    fail(S_EXEC, "exec", argv[0], errno);
}

static void exec_in(void) {
    if (!opt.argv[0]) {
        usage("exec needs a command");
    }
    tie_to_parent();
    join_netns();
    join_ipc_uts();
    join_cgroups();
    execvp(opt.argv[0], opt.argv);
    fail(S_EXEC, "exec", opt.argv[0], errno);
}

/* What boot needs from the kernel: the namespaces, an id map written by root, a seccomp filter. */
static void check(void) {
    int sync[2];
    if (pipe2(sync, O_CLOEXEC)) {
        fail(S_PIPE, "pipe2", NULL, errno);
    }
    pid_t pid = (pid_t) syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS
            | SIGCHLD, NULL, NULL, NULL, 0);
    if (pid < 0) {
        fail(S_CLONE, "clone(CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWIPC|CLONE_NEWUTS)", NULL, errno);
    }
    if (pid == 0) {
        char go;
        close(sync[1]);
        if (read(sync[0], &go, 1) != 1) {
            _exit(1);
        }
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) || getuid() != 0) {
            _exit(2);
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || install_seccomp()) {
            _exit(3);
        }
        _exit(0);
    }
    close(sync[0]);
    write_file(pid, "setgroups", "deny", S_IDMAP);
    char map[64];
    snprintf(map, sizeof map, "0:%d:1", getuid());
    write_id_map(pid, "uid_map", map);
    snprintf(map, sizeof map, "0:%d:1", getgid());
    write_id_map(pid, "gid_map", map);
    if (write(sync[1], "g", 1) != 1) {
        fail(S_SYNC, "start the check", NULL, errno);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) {
        fail(S_WAIT, "waitpid", NULL, errno);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        fail(code == 3 ? S_SECCOMP : code == 2 ? S_MOUNT_PRIVATE : S_CLONE, "check",
                code == 3 ? "no seccomp filter could be installed" : "a new user namespace did not work", 0);
    }
    printf("ok\n");
    exit(0);
}

int main(int argc, char **argv) {
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("%s\n", VERSION);
        return 0;
    }
    parse(argc, argv);
    if (!strcmp(opt.mode, "boot")) {
        boot();
    } else if (!strcmp(opt.mode, "restore")) {
        restore();
    } else if (!strcmp(opt.mode, "exec")) {
        exec_in();
    } else if (!strcmp(opt.mode, "check")) {
        check();
    }
    usage("the mode is boot, restore, exec or check");
    return S_USAGE;
}
