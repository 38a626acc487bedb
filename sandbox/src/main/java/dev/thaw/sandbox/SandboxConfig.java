package dev.thaw.sandbox;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * How a node sandboxes its instances. Built with {@link #builder(Path)}; every value but the data
 * directory has a default.
 *
 * @param dataDir the node's data directory: the sandbox's lock, identities, launcher, skeleton root
 *     and work directories live under it, and every host-side artifact (cgroups, scratch mounts)
 *     is named after a key derived from its real path
 * @param runtimeDir the directory of the runtime JARs, bound read-only at {@link #RUNTIME_INSIDE}
 * @param javaHome the JDK instances run, bound read-only at the same path unless it is under
 *     {@code /usr} (which is always bound); empty: the JDK is under {@code /usr}
 * @param readOnly further host directories bound read-only at the same path inside
 * @param uidBase the first host uid (and gid) of the range function identities come from; no
 *     user or group of the host may have an id in the range
 * @param maxFunctions how many function identities the range holds (two ids each)
 * @param pidsMax the most processes and threads an instance may have ({@code pids.max})
 * @param openFiles the most open descriptors per process ({@code RLIMIT_NOFILE})
 * @param scratchMb the default size of an instance's {@code /tmp}
 * @param hostname the host name instances see
 * @param seccomp whether instances run under thaw's seccomp filter
 * @param cgroupParent the cgroup, under each hierarchy's root, that holds every node's cgroups
 */
public record SandboxConfig(Path dataDir, Path runtimeDir, Optional<Path> javaHome, List<Path> readOnly, long uidBase,
                            int maxFunctions, int pidsMax, int openFiles, int scratchMb, String hostname, boolean seccomp,
                            String cgroupParent) {
    /** Where the function's code appears inside an instance (Lambda's {@code LAMBDA_TASK_ROOT}). */
    public static final String CODE_INSIDE = "/var/task";
    /** Where the runtime directory appears inside an instance. */
    public static final String RUNTIME_INSIDE = "/opt/thaw/runtime";
    /** Where an instance's scratch appears inside it. */
    public static final String SCRATCH_INSIDE = "/tmp";

    /** Checks the values and makes paths absolute. */
    public SandboxConfig {
        dataDir = dataDir.toAbsolutePath().normalize();
        runtimeDir = runtimeDir.toAbsolutePath().normalize();
        javaHome = javaHome.map(p -> p.toAbsolutePath().normalize());
        readOnly = readOnly.stream().map(p -> p.toAbsolutePath().normalize()).toList();
        Objects.requireNonNull(hostname, "hostname");
        Objects.requireNonNull(cgroupParent, "cgroupParent");
        if (uidBase < 1 << 16 || uidBase + 2L * maxFunctions > 0xFFFF_FFFEL || maxFunctions < 1) {
            throw new IllegalArgumentException("function ids " + uidBase + " to " + (uidBase + 2L * maxFunctions)
                    + " must lie between 65536 and 4294967294");
        }
        if (pidsMax < 16 || openFiles < 64 || scratchMb < 1) {
            throw new IllegalArgumentException("pidsMax " + pidsMax + " (16 or more), openFiles " + openFiles
                    + " (64 or more), scratchMb " + scratchMb + " (1 or more)");
        }
        if (!hostname.matches("[A-Za-z0-9][A-Za-z0-9.-]{0,62}")) {
            throw new IllegalArgumentException("not a host name: " + hostname);
        }
        if (!cgroupParent.matches("[A-Za-z0-9_.-]+")) {
            throw new IllegalArgumentException("not a cgroup name: " + cgroupParent);
        }
    }

    /**
     * @param dataDir the node's data directory
     * @return a builder with the defaults: runtime directory {@code dataDir/runtime}, the JDK under
     *     {@code /usr}, identities from uid 2000000000 (100,000 functions), 1024 pids, 1024 open
     *     files, a 64 MiB {@code /tmp}, host name {@code thaw}, seccomp on, cgroups under {@code thaw}
     */
    public static Builder builder(Path dataDir) {
        return new Builder(dataDir);
    }

    /** Builds a {@link SandboxConfig}. */
    public static final class Builder {
        private final Path dataDir;
        private Path runtimeDir;
        private Optional<Path> javaHome = Optional.empty();
        private final List<Path> readOnly = new ArrayList<>();
        private long uidBase = 2_000_000_000L;
        private int maxFunctions = 100_000;
        private int pidsMax = 1024;
        private int openFiles = 1024;
        private int scratchMb = 64;
        private String hostname = "thaw";
        private boolean seccomp = true;
        private String cgroupParent = "thaw";

        private Builder(Path dataDir) {
            this.dataDir = dataDir;
            this.runtimeDir = dataDir.resolve("runtime");
        }

        /** @return this, with the runtime JARs' directory */
        public Builder runtimeDir(Path dir) {
            this.runtimeDir = dir;
            return this;
        }

        /** @return this, with the JDK instances run (bound at the same path when not under /usr) */
        public Builder javaHome(Path dir) {
            this.javaHome = Optional.of(dir);
            return this;
        }

        /** @return this, with {@code dir} bound read-only at the same path inside every instance */
        public Builder readOnly(Path dir) {
            this.readOnly.add(dir);
            return this;
        }

        /** @return this, with function identities allocated from {@code base}, two ids per function */
        public Builder identities(long base, int maxFunctions) {
            this.uidBase = base;
            this.maxFunctions = maxFunctions;
            return this;
        }

        /** @return this, with at most {@code max} processes and threads per instance */
        public Builder pidsMax(int max) {
            this.pidsMax = max;
            return this;
        }

        /** @return this, with at most {@code max} open descriptors per process */
        public Builder openFiles(int max) {
            this.openFiles = max;
            return this;
        }

        /** @return this, with a {@code /tmp} of {@code mb} MiB by default */
        public Builder scratchMb(int mb) {
            this.scratchMb = mb;
            return this;
        }

        /** @return this, with the host name instances see */
        public Builder hostname(String name) {
            this.hostname = name;
            return this;
        }

        /** @return this, with the seccomp filter on or off */
        public Builder seccomp(boolean on) {
            this.seccomp = on;
            return this;
        }

        /** @return this, with every node's cgroups under {@code name} */
        public Builder cgroupParent(String name) {
            this.cgroupParent = name;
            return this;
        }

        /** @return the configuration */
        public SandboxConfig build() {
            return new SandboxConfig(dataDir, runtimeDir, javaHome, readOnly, uidBase, maxFunctions, pidsMax, openFiles,
                    scratchMb, hostname, seccomp, cgroupParent);
        }
    }
}
