package dev.thaw.node.pool;

import java.util.List;

/** What an instance reports to its pool. */
public interface InstanceEvents {
    /** The instance's runtime asked for work for the first time: it is ready. */
    void ready(PoolInstance instance);

    /**
     * The runtime posted a result.
     *
     * @return false when the request id is not the invocation the instance holds (a late or forged reply)
     */
    boolean completed(PoolInstance instance, String requestId, byte[] body);

    /**
     * The runtime posted a function error.
     *
     * @return false when the request id is not the invocation the instance holds
     */
    boolean failed(PoolInstance instance, String requestId, String errorType, String message, List<String> stack);

    /** The instance's processes are gone. Called once per instance. */
    void exited(PoolInstance instance, Exit exit);

    /**
     * @return whether invocations wait for an instance of the function: a boot's warm-up before its
     *     checkpoint then ends as soon as its baseline is done
     */
    default boolean awaited() {
        return true;
    }

    /** Starts that had to wait ({@link InstanceStarter#mayStart()} was false) may begin now. */
    void startsMayBegin();
}
