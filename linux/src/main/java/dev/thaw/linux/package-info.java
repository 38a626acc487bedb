/**
 * thaw's one home for native calls on Linux, through the FFM API: processes started with
 * {@code posix_spawn} ({@link dev.thaw.linux.NativeSpawn}, {@link dev.thaw.linux.Spawner}), the
 * namespace, mount and descriptor calls of the instance sandbox ({@link dev.thaw.linux.Libc}),
 * network namespaces held by a descriptor ({@link dev.thaw.linux.NetworkNamespace}). A failed call
 * throws {@link dev.thaw.linux.NativeException}, which names the call and the system's reason.
 */
package dev.thaw.linux;
