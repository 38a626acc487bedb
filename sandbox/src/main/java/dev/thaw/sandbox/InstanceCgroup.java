package dev.thaw.sandbox;

import dev.thaw.sandbox.Cgroups.Controller;
import dev.thaw.sandbox.Cgroups.Hierarchy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/*
 * One instance's cgroup, in every hierarchy thaw uses, and its limits:
 *
 *  - memory: the function's memoryMb for the whole instance (heap, native memory, threads, the
 *    page cache it dirties, its tmpfs /tmp, the launcher or CRIU that supervises it). v1:
 *    memory.limit_in_bytes, and memory.memsw.limit_in_bytes set to the same value where swap
 *    accounting exists (no swapping beyond the limit); v2: memory.max and memory.swap.max = 0.
 *    When the instance needs more, the kernel's OOM killer kills one of its processes (the
 *    JVM, the biggest) inside the cgroup: counted by oom_kill in memory.oom_control (v1) or
 *    memory.events (v2).
 *  - cpu: a share proportional to memory, as Lambda gives one vCPU to 1,769 MB: v1 cpu.shares
 *    (1024 = one CPU's weight), v2 cpu.weight (100 = one). A weight, not a cap: an idle machine
 *    lets a small function use every core, a busy one divides the cores by memory.
 *  - pids: pids.max, threads included (a fork bomb stops there).
 *
 * The peak: v1 memory.max_usage_in_bytes (reset by writing 0); v2 memory.peak, whose reset
 * (Linux 6.12+) holds for the descriptor that wrote it. Either way one descriptor is kept open for
 * both: the peak is reset before and read after every invocation, on its path, and a cgroup file's
 * open and close (a path walk in the cgroup filesystem) cost several times the read or write itself.
 */
/** One instance's cgroup and its limits. */
final class InstanceCgroup {
    /** Lambda's ratio: one vCPU per 1,769 MB. */
    static final int MB_PER_CPU = 1769;
    private static final byte[] RESET_V1 = "0".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] RESET_V2 = "reset\n".getBytes(StandardCharsets.US_ASCII);

    private final Map<Hierarchy, Path> dirs;
    private final Optional<Path> memory;
    private final boolean memoryV2;
    private final Optional<FileChannel> peak;

    private InstanceCgroup(Map<Hierarchy, Path> dirs, Optional<Path> memory, boolean memoryV2, Optional<FileChannel> peak) {
        this.dirs = dirs;
        this.memory = memory;
        this.memoryV2 = memoryV2;
        this.peak = peak;
    }

    /**
     * Makes {@code parent/id} in every hierarchy and sets its limits.
     *
     * @throws SandboxException when it exists already or cannot be made
     */
    static InstanceCgroup create(Cgroups cgroups, String parent, String id, int memoryMb, int pidsMax) {
        Map<Hierarchy, Path> dirs = new LinkedHashMap<>();
        Optional<FileChannel> peak = Optional.empty();
        try {
            for (Hierarchy h : cgroups.hierarchies()) {
                Path dir = h.mount().resolve(parent).resolve(id);
                Files.createDirectory(dir);
                dirs.put(h, dir);
            }
            long bytes = (long) memoryMb << 20;
            Optional<Path> memory = Optional.empty();
            boolean memoryV2 = false;
            Optional<Hierarchy> m = cgroups.of(Controller.MEMORY);
            if (m.isPresent()) {
                Path dir = dirs.get(m.get());
                memory = Optional.of(dir);
                memoryV2 = m.get().v2();
                if (memoryV2) {
                    Cgroups.write(dir.resolve("memory.max"), Long.toString(bytes));
                    if (Files.exists(dir.resolve("memory.swap.max"))) {
                        Cgroups.write(dir.resolve("memory.swap.max"), "0");
                    }
                } else {
                    Cgroups.write(dir.resolve("memory.limit_in_bytes"), Long.toString(bytes));
                    if (Files.exists(dir.resolve("memory.memsw.limit_in_bytes"))) {
                        Cgroups.write(dir.resolve("memory.memsw.limit_in_bytes"), Long.toString(bytes));
                    }
                }
                Path peakFile = dir.resolve(memoryV2 ? "memory.peak" : "memory.max_usage_in_bytes");
                if (Files.exists(peakFile)) {
                    peak = Optional.of(FileChannel.open(peakFile, StandardOpenOption.READ, StandardOpenOption.WRITE));
                }
            }
            cgroups.of(Controller.CPU).ifPresent(h -> Cgroups.writeCpuWeight(h, dirs.get(h), cpuShares(memoryMb), cpuWeight(memoryMb)));
            cgroups.of(Controller.PIDS).ifPresent(h -> Cgroups.write(dirs.get(h).resolve("pids.max"), Integer.toString(pidsMax)));
            return new InstanceCgroup(dirs, memory, memoryV2, peak);
        } catch (IOException | RuntimeException e) {
            peak.ifPresent(InstanceCgroup::closeQuietly);
            Cgroups.remove(dirs.values());
            if (e instanceof java.nio.file.FileAlreadyExistsException) {
                throw new SandboxException("instance " + id + " has a cgroup already: " + e.getMessage(), e);
            }
            throw e instanceof SandboxException s ? s : new SandboxException("cannot make the cgroup of instance " + id + ": " + e, e);
        }
    }

    /** @return v1 {@code cpu.shares} for {@code memoryMb}: 1024 per 1,769 MB, at least 2 */
    static long cpuShares(int memoryMb) {
        return Math.max(2, Math.round(memoryMb * 1024.0 / MB_PER_CPU));
    }

    /** @return v2 {@code cpu.weight} for {@code memoryMb}: 100 per 1,769 MB, between 1 and 10000 */
    static long cpuWeight(int memoryMb) {
        return Math.clamp(Math.round(memoryMb * 100.0 / MB_PER_CPU), 1, 10_000);
    }

    /** @return the cgroup directories, one per hierarchy: what the launcher joins */
    List<Path> dirs() {
        return new ArrayList<>(dirs.values());
    }

    Set<Long> processes() {
        return Cgroups.processes(dirs.values());
    }

    long memoryPeakBytes() {
        if (peak.isEmpty()) {
            return 0;
        }
        try {
            ByteBuffer b = ByteBuffer.allocate(64);
            peak.get().read(b, 0);
            return number(new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            return 0;
        }
    }

    void resetMemoryPeak() {
        if (peak.isEmpty()) {
            return;
        }
        try {
            peak.get().write(ByteBuffer.wrap(memoryV2 ? RESET_V2 : RESET_V1), 0);
        } catch (IOException e) {
            // v2 before Linux 6.12: memory.peak cannot be reset, the peak is the cgroup's lifetime's
        }
    }


    long oomKills() {
        if (memory.isEmpty()) {
            return 0;
        }
        String file = memoryV2 ? "memory.events" : "memory.oom_control";
        return Cgroups.readOrEmpty(memory.get().resolve(file)).lines().filter(l -> l.startsWith("oom_kill "))
                .mapToLong(l -> number(l.substring("oom_kill ".length()))).findFirst().orElse(0);
    }

    /** Kills what runs in it and removes it. */
    int killAndRemove(Duration timeout) {
        int killed = Cgroups.killAll(dirs.values(), timeout);
        peak.ifPresent(InstanceCgroup::closeQuietly);
        Cgroups.remove(dirs.values());
        return killed;
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing was written through it that could be lost
        }
    }

    private static long number(String s) {
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
