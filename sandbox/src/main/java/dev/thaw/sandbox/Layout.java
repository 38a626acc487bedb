package dev.thaw.sandbox;

import dev.thaw.linux.Libc;
import dev.thaw.linux.NativeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/*
 * What an instance's root is made of. The root is a skeleton directory the node builds (root-owned,
 * read-only inside): the mount points, a minimal /etc and /dev, and symbolic links; every other
 * path is a bind mount of the host, read-only except /tmp:
 *
 *   /usr                  the host's /usr (Debian is usr-merged: /bin, /lib, /lib64, /sbin are
 *                         symbolic links into it, in the skeleton as on the host; a host where one
 *                         is a real directory gets it bound as well)
 *   /var/task             the function's code
 *   /opt/thaw/runtime     the runtime JARs
 *   JAVA_HOME             the JDK, at its own path, unless it is under /usr
 *   /tmp                  the instance's scratch, writable, size-bound
 *   /proc                 a proc of the instance's own pid namespace
 *
 * Every mount is work for CRIU on every restore (it makes each one again in the clone's mount
 * namespace), so what can be a file of the skeleton is one:
 *
 *   /dev/null, zero, full, random, urandom   device nodes the node makes in the skeleton with the
 *                         host's device numbers (mode 0666), so / is mounted without nodev; where
 *                         the skeleton's file system refuses device nodes (mounted nodev, or a node
 *                         without CAP_MKNOD) they are bind mounts of the host's, as they once were
 *   /etc/ssl/certs        a copy of the host's CA certificates (links into /usr/share/ca-certificates
 *                         and the bundles, under a megabyte), taken when the node opens its sandboxes
 *   /etc/alternatives     a copy of Debian's alternatives links (/usr/bin/awk, which, java... point there)
 *
 * Images dumped when these were bind mounts still restore: a restore names their keys too (CRIU
 * ignores keys an image does not use), and the skeleton's files are valid mount points for them.
 *
 * Each bind mount is named by a key that CRIU records instead of the host path (dump:
 * --external mnt[/usr]:usr, restore: --external mnt[usr]:/usr), so an image restores on a node whose
 * paths differ. Mounts the host has below a bound directory come along (the bind is recursive: a
 * user namespace may not split them off) and get keys of their own.
 *
 * /etc holds passwd and group with root, the function's user (thaw, 1000, home /tmp) and nobody;
 * hosts (localhost and the host name); nsswitch.conf (files, then dns, which finds no server in an
 * instance's network namespace); a localtime link to UTC; the host's ld.so.cache (the dynamic
 * loader's index of /usr's libraries, nothing secret); mtab (a link to /proc/self/mounts, for df and
 * friends). /dev adds fd, stdin, stdout and stderr links into /proc/self/fd (shell scripts write to
 * /dev/stderr). Nothing else of the host's /etc is visible.
 */
/** The bind mounts every instance gets, their keys, and the skeleton root they are mounted on. */
final class Layout {
    /** The device nodes an instance gets. */
    static final List<String> DEVICES = List.of("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom");
    /** Host directories the skeleton holds copies of (they once were bind mounts; their keys stay known to restores). */
    static final Map<String, String> COPIED = Map.of("/etc/ssl/certs", "certs", "/etc/alternatives", "alternatives");
    /** Top-level directories a usr-merged system makes symbolic links into /usr. */
    private static final List<String> MERGED = List.of("bin", "sbin", "lib", "lib32", "lib64", "libx32");

    /**
     * A host path bound into an instance.
     *
     * @param source the host path
     * @param inside where it appears in the instance
     * @param key what CRIU's image calls it
     * @param readOnly whether the instance may not write it
     */
    record Bind(Path source, String inside, String key, boolean readOnly) {
        String launcherArgument() {
            return source + ":" + inside + (readOnly ? ":ro" : ":rw");
        }
    }

    private final List<Bind> binds;
    private final Map<String, String> links;
    private final List<MountInfo.Mount> hostMounts;

    private Layout(List<Bind> binds, Map<String, String> links, List<MountInfo.Mount> hostMounts) {
        this.binds = binds;
        this.links = links;
        this.hostMounts = hostMounts;
    }

    static Layout of(SandboxConfig config, List<MountInfo.Mount> hostMounts) {
        List<Bind> binds = new ArrayList<>();
        Map<String, String> links = new LinkedHashMap<>();
        binds.add(new Bind(Path.of("/usr"), "/usr", "usr", true));
        for (String name : MERGED) {
            Path host = Path.of("/", name);
            if (Files.isSymbolicLink(host)) {
                links.put("/" + name, readLink(host));
            } else if (Files.isDirectory(host)) {
                binds.add(new Bind(host, "/" + name, name, true));
            }
        }
        binds.add(new Bind(config.runtimeDir(), SandboxConfig.RUNTIME_INSIDE, "runtime", true));
        config.javaHome().filter(j -> !j.startsWith("/usr")).ifPresent(j -> binds.add(new Bind(j, j.toString(), "jdk", true)));
        for (Path extra : config.readOnly()) {
            binds.add(new Bind(extra, extra.toString(), "ro" + extra.toString().replace('/', '-'), true));
        }
        for (Bind b : binds) {
            if (!Files.isDirectory(b.source())) {
                throw new SandboxException("cannot bind " + b.source() + " into instances at " + b.inside() + ": no such directory");
            }
        }
        return new Layout(List.copyOf(binds), links, hostMounts);
    }

    /** @return the node-wide bind mounts, in the order to mount them */
    List<Bind> binds() {
        return binds;
    }

    /**
     * @param more the instance's own binds (its code)
     * @param devicesInRoot whether the skeleton holds the device nodes ({@link #buildSkeleton})
     * @return every external mount an instance with {@code more} has: the binds, the host's mounts
     *     below them, the device nodes unless the skeleton holds them, its scratch
     */
    List<Bind> externals(List<Bind> more, Path scratch, boolean devicesInRoot) {
        List<Bind> all = boundExternals(more);
        if (!devicesInRoot) {
            all.addAll(deviceBinds());
        }
        all.add(new Bind(scratch, SandboxConfig.SCRATCH_INSIDE, "scratch", false));
        return all;
    }

    /**
     * @param externals the instance's {@link #externals}
     * @return what a restore names to CRIU: {@code externals}, plus the device nodes and copied
     *     directories that images dumped before the skeleton held them have as bind mounts
     */
    static List<Bind> restoreExternals(List<Bind> externals, boolean devicesInRoot) {
        List<Bind> all = new ArrayList<>(externals);
        if (devicesInRoot) {
            all.addAll(deviceBinds());
        }
        COPIED.forEach((dir, key) -> {
            if (Files.isDirectory(Path.of(dir))) {
                all.add(new Bind(Path.of(dir), dir, key, true));
            }
        });
        return List.copyOf(all);
    }

    private static List<Bind> deviceBinds() {
        return DEVICES.stream().map(d -> new Bind(Path.of(d), d, d.substring(1).replace('/', '-'), false)).toList();
    }

    private List<Bind> boundExternals(List<Bind> more) {
        List<Bind> all = new ArrayList<>();
        List<Bind> both = new ArrayList<>(binds);
        both.addAll(more);
        for (Bind b : both) {
            all.add(b);
            for (Path below : MountInfo.below(hostMounts, b.source())) {
                String inside = b.inside() + "/" + b.source().relativize(below);
                all.add(new Bind(below, inside, b.key() + inside.substring(b.inside().length()).replace('/', '-'), b.readOnly()));
            }
        }
        return all;
    }

    /**
     * Builds the skeleton root at {@code root} (replacing what is there): root-owned, directories
     * 0755 and files 0644, with a mount point for every bind of {@code binds()} and {@code more},
     * the device nodes (0666) and copies of {@link #COPIED}.
     *
     * @return whether the skeleton holds working device nodes; if not, it holds their mount points
     *     and instances need the host's bound
     */
    boolean buildSkeleton(Path root, List<String> more, String hostname) {
        try {
            deleteTree(root);
            Files.createDirectories(root);
            for (String dir : List.of("/etc", "/dev", "/proc", "/tmp", SandboxConfig.CODE_INSIDE, SandboxConfig.RUNTIME_INSIDE)) {
                Files.createDirectories(inside(root, dir));
            }
            for (Bind b : binds) {
                Files.createDirectories(inside(root, b.inside()));
            }
            for (String dir : more) {
                Files.createDirectories(inside(root, dir));
            }
            for (var copied : COPIED.keySet()) {
                if (Files.isDirectory(Path.of(copied))) {
                    Files.createDirectories(inside(root, copied));
                    TreeCopy.copy(Path.of(copied), inside(root, copied));
                }
            }
            for (var link : links.entrySet()) {
                Files.createSymbolicLink(inside(root, link.getKey()), Path.of(link.getValue()));
            }
            Files.createSymbolicLink(inside(root, "/dev/fd"), Path.of("/proc/self/fd"));
            for (int fd = 0; fd <= 2; fd++) {
                Files.createSymbolicLink(inside(root, "/dev/" + List.of("stdin", "stdout", "stderr").get(fd)),
                        Path.of("/proc/self/fd/" + fd));
            }
            int user = FunctionIdentity.INSIDE_USER;
            Files.writeString(inside(root, "/etc/passwd"), "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                    + "thaw:x:" + user + ":" + user + ":function:/tmp:/usr/sbin/nologin\n"
                    + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
            Files.writeString(inside(root, "/etc/group"), "root:x:0:\nthaw:x:" + user + ":\nnogroup:x:65534:\n");
            Files.writeString(inside(root, "/etc/hosts"), "127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n");
            Files.writeString(inside(root, "/etc/hostname"), hostname + "\n");
            Files.writeString(inside(root, "/etc/nsswitch.conf"), "passwd: files\ngroup: files\nshadow: files\n"
                    + "hosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n");
            Files.writeString(inside(root, "/etc/resolv.conf"), "# no name server: an instance reaches 127.0.0.1 only\n");
            Files.createSymbolicLink(inside(root, "/etc/mtab"), Path.of("../proc/self/mounts"));
            if (Files.exists(Path.of("/usr/share/zoneinfo/UTC"))) {
                Files.createSymbolicLink(inside(root, "/etc/localtime"), Path.of("/usr/share/zoneinfo/UTC"));
            }
            if (Files.isRegularFile(Path.of("/etc/ld.so.cache"))) {
                Files.copy(Path.of("/etc/ld.so.cache"), inside(root, "/etc/ld.so.cache"));
            }
            try (Stream<Path> all = Files.walk(root)) {
                for (Path p : all.toList()) {
                    if (!Files.isSymbolicLink(p)) {
                        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
                    }
                }
            }
            return makeDevices(root);
        } catch (IOException e) {
            throw new SandboxException("cannot build the skeleton root " + root + ": " + e.getMessage(), e);
        }
    }

    /**
     * Makes the device nodes in the skeleton, each with its host twin's number, and checks that
     * one opens there. Where that fails (no CAP_MKNOD, or a file system mounted nodev), it leaves
     * empty files to bind the host's nodes onto.
     */
    private static boolean makeDevices(Path root) throws IOException {
        try {
            for (String device : DEVICES) {
                Path node = inside(root, device);
                Libc.mknodCharacter(node.toString(), 0666, (Long) Files.getAttribute(Path.of(device), "unix:rdev"));
                Files.setPosixFilePermissions(node, PosixFilePermissions.fromString("rw-rw-rw-"));
            }
            Libc.close(Libc.open(inside(root, "/dev/null").toString(), Libc.O_WRONLY | Libc.O_CLOEXEC, 0));
            return true;
        } catch (NativeException | UnsupportedOperationException e) {
            for (String device : DEVICES) {
                Files.deleteIfExists(inside(root, device));
                Files.writeString(inside(root, device), "");
                Files.setPosixFilePermissions(inside(root, device), PosixFilePermissions.fromString("rw-r--r--"));
            }
            return false;
        }
    }

    /**
     * @return whether every user may walk to {@code path}: every directory above it (and it, when
     *     it is one) grants search to others. CRIU makes a restored instance's bind mounts as the
     *     instance's root, a host uid of the function's: sources it cannot walk to are staged.
     */
    static boolean walkableByAll(Path path) {
        try {
            for (Path p = Files.isDirectory(path) ? path : path.getParent(); p != null; p = p.getParent()) {
                if (!Files.getPosixFilePermissions(p).contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                    return false;
                }
            }
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Path inside(Path root, String path) {
        return root.resolve(path.substring(1));
    }

    private static String readLink(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Deletes a tree without following symbolic links, and never one that anything is mounted on
     * or in (a bind of the host's /usr has the same device as the tree: only the mount table says).
     *
     * @throws SandboxException when something is mounted at or below {@code root}
     */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Path real = root.toRealPath();
        List<Path> mounted = MountInfo.read().stream().map(MountInfo.Mount::mountPoint).filter(m -> m.startsWith(real)).toList();
        if (!mounted.isEmpty()) {
            throw new SandboxException("refusing to delete " + root + ": " + mounted + " mounted in it");
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
