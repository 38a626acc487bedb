package dev.thaw.sandbox;

import dev.thaw.linux.Libc;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;

/*
 * Which cgroup hierarchy holds each controller thaw uses, found in /proc/self/mountinfo: a v1
 * hierarchy per controller (memory, cpu, pids mounted as fstype "cgroup", the controller named in
 * the super options), or the v2 hierarchy (fstype "cgroup2") when its cgroup.controllers lists it.
 * A hybrid machine can have both: each controller is used where it is bound, v1 first (a
 * controller bound to a v1 hierarchy is not available in v2). The v2 hierarchy is used even
 * without controllers: an instance joins it too, so that cgroup.kill (Linux 5.14+) kills all of it
 * in one write.
 */
/** The cgroup hierarchies of this machine and the controllers thaw uses in them. */
final class Cgroups {
    /** The controllers thaw sets limits with. */
    enum Controller {
        MEMORY("memory"), CPU("cpu"), PIDS("pids");

        final String name;

        Controller(String name) {
            this.name = name;
        }
    }

    /** A mounted hierarchy. */
    record Hierarchy(Path mount, boolean v2) {
        @Override
        public String toString() {
            return mount + (v2 ? " (v2)" : " (v1)");
        }
    }

    /** How many busy threads of the node all instances together weigh as, per core. */
    static final int INSTANCES_PER_CORE = 2;

    private final Map<Controller, Hierarchy> controllers;
    private final Optional<Hierarchy> unified;

    private Cgroups(Map<Controller, Hierarchy> controllers, Optional<Hierarchy> unified) {
        this.controllers = controllers;
        this.unified = unified;
    }

    static Cgroups detect() {
        try {
            return detect(MountInfo.read(), Cgroups::readOrEmpty);
        } catch (UncheckedIOException e) {
            return new Cgroups(Map.of(), Optional.empty());
        }
    }

    /**
     * @param mounts the mounts of this mount namespace
     * @param read reads a file of a v2 hierarchy ({@code cgroup.controllers}), "" when absent
     */
    static Cgroups detect(List<MountInfo.Mount> mounts, Function<Path, String> read) {
        Map<Controller, Hierarchy> v1 = new EnumMap<>(Controller.class);
        Map<Controller, Hierarchy> v2 = new EnumMap<>(Controller.class);
        Optional<Hierarchy> unified = Optional.empty();
        for (MountInfo.Mount m : mounts) {
            if (!m.root().equals("/")) {
                continue; // not a hierarchy's root (a bind of a subdirectory, as in some containers)
            }
            if (m.type().equals("cgroup")) {
                List<String> options = List.of(m.superOptions().split(","));
                for (Controller c : Controller.values()) {
                    if (options.contains(c.name)) {
                        v1.putIfAbsent(c, new Hierarchy(m.mountPoint(), false));
                    }
                }
            } else if (m.type().equals("cgroup2") && unified.isEmpty()) {
                Hierarchy h = new Hierarchy(m.mountPoint(), true);
                unified = Optional.of(h);
                List<String> available = List.of(read.apply(m.mountPoint().resolve("cgroup.controllers")).strip().split("\\s+"));
                for (Controller c : Controller.values()) {
                    if (available.contains(c.name)) {
                        v2.put(c, h);
                    }
                }
            }
        }
        Map<Controller, Hierarchy> chosen = new EnumMap<>(Controller.class);
        for (Controller c : Controller.values()) {
            Hierarchy h = v1.containsKey(c) ? v1.get(c) : v2.get(c);
            if (h != null) {
                chosen.put(c, h);
            }
        }
        return new Cgroups(chosen, unified);
    }

    /** @return the hierarchy holding {@code c}, if any */
    Optional<Hierarchy> of(Controller c) {
        return Optional.ofNullable(controllers.get(c));
    }

    /** @return the controllers this machine lacks */
    List<Controller> missing() {
        return Arrays.stream(Controller.values()).filter(c -> !controllers.containsKey(c)).toList();
    }

    /** @return every hierarchy an instance joins: those holding a controller, and the v2 one */
    Set<Hierarchy> hierarchies() {
        Set<Hierarchy> all = new LinkedHashSet<>(controllers.values());
        unified.ifPresent(all::add);
        return all;
    }

    /** @return the v2 controllers to enable in the subtree of thaw's cgroups, e.g. {@code +memory +pids} */
    String v2SubtreeControl() {
        return String.join(" ", controllers.entrySet().stream().filter(e -> e.getValue().v2())
                .map(e -> "+" + e.getKey().name).toList());
    }

    /** @return e.g. {@code cgroup v1} or {@code cgroup v1 (memory, cpu) and v2 (pids)} */
    String versions() {
        List<String> v1 = new ArrayList<>();
        List<String> v2 = new ArrayList<>();
        controllers.forEach((c, h) -> (h.v2() ? v2 : v1).add(c.name));
        if (v2.isEmpty()) {
            return "cgroup v1";
        }
        if (v1.isEmpty()) {
            return "cgroup v2";
        }
        return "cgroup v1 (" + String.join(", ", v1) + ") and v2 (" + String.join(", ", v2) + ")";
    }

    /**
     * Makes {@code dir} (and its parents) a cgroup in every hierarchy; enables the v2 controllers
     * for its children.
     */
    void makeParent(String relative) {
        for (Hierarchy h : hierarchies()) {
            Path dir = h.mount();
            for (String part : relative.split("/")) {
                String control = v2SubtreeControl();
                if (h.v2() && !control.isEmpty()) {
                    write(dir.resolve("cgroup.subtree_control"), control);
                }
                dir = dir.resolve(part);
                try {
                    Files.createDirectories(dir);
                } catch (IOException e) {
                    throw new SandboxException("cannot make cgroup " + dir + ": " + e.getMessage(), e);
                }
            }
            String control = v2SubtreeControl();
            if (h.v2() && !control.isEmpty()) {
                write(dir.resolve("cgroup.subtree_control"), control);
            }
        }
    }

    /**
     * Gives {@code top}, the cgroup that holds every node's instances, the cpu weight of
     * {@link #INSTANCES_PER_CORE} busy threads per core ({@code cores} of them).
     *
     * <p>A node's own threads live outside thaw's cgroups, most often in the root one, where each
     * runnable thread weighs as much as a whole sibling cgroup at the default weight. Left at that
     * default, all instances together weighed as much as one thread of the node: under load its
     * request carriers, timers and JIT compilers took most of both cores, and an instance's
     * stop-the-world GC, a millisecond of work, stretched to tens of milliseconds while every
     * invocation it held waited. Two threads' worth per core gives the instances two thirds of a
     * contended core against one busy node thread, and a function that spins every thread it may
     * start still leaves the node a third of each core for its API. Between nodes on one machine
     * their own cgroups keep the default weight: they share alike.
     */
    void weighInstances(String top, int cores) {
        of(Controller.CPU).ifPresent(h -> writeCpuWeight(h, h.mount().resolve(top), instancesShares(cores), instancesWeight(cores)));
    }

    /** Writes cgroup {@code dir}'s cpu weight in {@code h}'s terms: v1 {@code cpu.shares}, v2 {@code cpu.weight}. */
    static void writeCpuWeight(Hierarchy h, Path dir, long v1Shares, long v2Weight) {
        if (h.v2()) {
            write(dir.resolve("cpu.weight"), Long.toString(v2Weight));
        } else {
            write(dir.resolve("cpu.shares"), Long.toString(v1Shares));
        }
    }

    /** @return v1 {@code cpu.shares} of the instances' top cgroup: 1024 (one thread) per core and thread */
    static long instancesShares(int cores) {
        return 1024L * INSTANCES_PER_CORE * Math.max(1, cores);
    }

    /** @return v2 {@code cpu.weight} of the instances' top cgroup: 100 (one thread) per core and thread, at most 10000 */
    static long instancesWeight(int cores) {
        return Math.min(10_000L, 100L * INSTANCES_PER_CORE * Math.max(1, cores));
    }

    /**
     * Removes {@code relative} (the node's cgroup, which must be empty) and its parents as far as
     * they are empty (other nodes may use them) in every hierarchy.
     */
    void removeParent(String relative) {
        for (Hierarchy h : hierarchies()) {
            Path dir = h.mount().resolve(relative);
            while (!dir.equals(h.mount())) {
                try {
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    break; // another node's cgroups are in it
                }
                dir = dir.getParent();
            }
        }
    }

    /** @return the instance cgroups under {@code relative} in every hierarchy, by name */
    Map<String, List<Path>> children(String relative) {
        Map<String, List<Path>> byName = new java.util.TreeMap<>();
        for (Hierarchy h : hierarchies()) {
            Path parent = h.mount().resolve(relative);
            try (Stream<Path> s = Files.list(parent)) {
                s.filter(Files::isDirectory).forEach(d -> byName.computeIfAbsent(d.getFileName().toString(),
                        k -> new ArrayList<>()).add(d));
            } catch (NoSuchFileException e) {
                // no such parent in this hierarchy: nothing under it
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return byName;
    }

    /** @return the pids in the cgroups {@code dirs} */
    static Set<Long> processes(Collection<Path> dirs) {
        Set<Long> pids = new TreeSet<>();
        for (Path dir : dirs) {
            for (String line : readOrEmpty(dir.resolve("cgroup.procs")).split("\n")) {
                if (!line.isBlank()) {
                    pids.add(Long.parseLong(line.strip()));
                }
            }
        }
        return pids;
    }

    /**
     * Kills every process in the cgroups {@code dirs} (v2's {@code cgroup.kill} where there is one,
     * else SIGKILL to each pid until none is left, so that children forked meanwhile go too) and
     * waits until the cgroups are empty.
     *
     * @return how many processes there were
     */
    static int killAll(Collection<Path> dirs, Duration timeout) {
        Set<Long> seen = new TreeSet<>();
        for (Path dir : dirs) {
            Path kill = dir.resolve("cgroup.kill");
            if (Files.exists(kill)) {
                seen.addAll(processes(List.of(dir)));
                tryWrite(kill, "1");
            }
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Set<Long> left = processes(dirs);
            if (left.isEmpty()) {
                return seen.size();
            }
            seen.addAll(left);
            for (long pid : left) {
                Libc.kill(pid, Libc.SIGKILL);
            }
            if (System.nanoTime() > deadline) {
                throw new SandboxException("processes " + left + " still run in " + dirs + " after " + timeout.toMillis() + " ms");
            }
            sleep(5);
        }
    }

    /** Removes the (empty) cgroups {@code dirs}; retries while the kernel still counts exiting tasks. */
    static void remove(Collection<Path> dirs) {
        for (Path dir : dirs) {
            for (int attempt = 0; ; attempt++) {
                try {
                    Files.deleteIfExists(dir);
                    break;
                } catch (IOException e) {
                    if (attempt >= 200) {
                        throw new SandboxException("cannot remove cgroup " + dir + ": " + e.getMessage(), e);
                    }
                    sleep(5);
                }
            }
        }
    }

    static void write(Path file, String value) {
        try {
            Files.writeString(file, value);
        } catch (IOException e) {
            throw new SandboxException("cannot write '" + value + "' to " + file + ": " + e.getMessage(), e);
        }
    }

    static boolean tryWrite(Path file, String value) {
        try {
            Files.writeString(file, value);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static String readOrEmpty(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "";
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SandboxException("interrupted", e);
        }
    }
}
