package dev.thaw.sandbox;

import java.nio.file.Path;
import java.util.Objects;

/**
 * One instance to sandbox: a booted instance or a restored clone.
 *
 * @param id unique among the node's live instances: letters, digits, {@code _ . -}, at most 64;
 *     names its cgroup and scratch
 * @param function the function's name, which picks its identity ({@link Sandboxes#identity})
 * @param memoryMb the memory of the whole instance: heap, native memory, threads, the page cache it
 *     dirties, its {@code /tmp}; also sets its CPU share (1,769 MB is one CPU's worth, as on Lambda)
 * @param code the function's code, bound read-only at {@link SandboxConfig#CODE_INSIDE}
 * @param scratchMb the size of its {@code /tmp} (memory, counted in {@code memoryMb}); 0: the
 *     node's default
 */
public record InstanceSpec(String id, String function, int memoryMb, Path code, int scratchMb) {

    /** Checks the values. */
    public InstanceSpec {
        Objects.requireNonNull(function, "function");
        if (id == null || !id.matches("[A-Za-z0-9_.-]{1,64}") || id.equals(".") || id.equals("..")) {
            throw new IllegalArgumentException("not an instance id (letters, digits, _ . -, at most 64): " + id);
        }
        if (memoryMb < 16) {
            throw new IllegalArgumentException("memoryMb " + memoryMb + " is below 16");
        }
        code = code.toAbsolutePath().normalize();
        if (scratchMb < 0) {
            throw new IllegalArgumentException("scratchMb " + scratchMb + " is negative");
        }
    }

    /** An instance with the node's default {@code /tmp} size. */
    public InstanceSpec(String id, String function, int memoryMb, Path code) {
        this(id, function, memoryMb, code, 0);
    }
}
