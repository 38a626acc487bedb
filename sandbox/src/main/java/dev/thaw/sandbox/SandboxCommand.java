package dev.thaw.sandbox;

import dev.thaw.linux.SpawnRequest;
import java.util.List;
import java.util.Map;

/**
 * A command line through the sandbox launcher and the descriptors it needs.
 *
 * <p>Start it through {@link dev.thaw.linux.NativeSpawn#spawner()} (or another spawner that stays
 * open): the launcher arms a parent-death signal, which fires when the thread that started it
 * exits. The descriptors are this process's: they must stay open until the spawn returns.
 *
 * @param argv the launcher, its arguments, {@code --}, then the program and its arguments
 * @param descriptors child fd to the fd of this process it duplicates (the instance's network
 *     namespace, the node's lifeline)
 */
public record SandboxCommand(List<String> argv, Map<Integer, Integer> descriptors) {

    /** Copies the arguments. */
    public SandboxCommand {
        argv = List.copyOf(argv);
        descriptors = Map.copyOf(descriptors);
    }

    /**
     * @return a spawn request for this command with its descriptors; the caller adds the
     *     environment (built from scratch: it is the program's), the standard streams and spawns
     *     it through a long-lived spawner
     */
    public SpawnRequest.Builder spawnRequest() {
        return SpawnRequest.builder(argv).descriptors(descriptors);
    }
}
