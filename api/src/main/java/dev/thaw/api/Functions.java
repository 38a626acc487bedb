package dev.thaw.api;

import java.nio.charset.StandardCharsets;

/**
 * Invokes other functions from a handler, through the node that runs it: thaw's counterpart of
 * calling Lambda's Invoke from inside a function. A call is answered exactly as the node's invoke
 * API answers any caller (the same placement in a cluster, the same errors, {@code Event}
 * invocations queued durably), for the functions the caller's deployment names in
 * {@code mayInvoke} ({@code thaw deploy --may-invoke b,c}) and no others.
 *
 * <pre>{@code
 * byte[] result = Functions.get().invoke("resize", "{\"width\":640}".getBytes(UTF_8));
 * String requestId = Functions.get().invokeEvent("index", payload);   // queued, not waited for
 * }</pre>
 *
 * <p>This is what {@code THAW_NODE_URL} serves over HTTP, with the runtime's own kept-alive
 * connections instead of a general HTTP client: a call costs the callee's run and well under a
 * millisecond more, and it keeps working in a clone restored from a snapshot, whose node address
 * changed. Every method may be called from several threads at once.
 */
public interface Functions {

    /**
     * @return the calls of the instance this code runs in
     * @throws IllegalStateException outside a thaw instance
     */
    static Functions get() {
        return InstanceServices.get(Functions.class,
                "no node here: Functions.get() works inside a thaw instance only (THAW_NODE_URL names the same API)");
    }

    /**
     * Runs {@code function} and waits for its result (Lambda's {@code RequestResponse}).
     *
     * @param function the function's name, {@code name:qualifier} or ARN
     * @param payload the event, JSON (empty for {@code null}), at most 6 MB
     * @return the function's result, JSON
     * @throws FunctionCallException when the call is refused (the caller may not invoke it, it does
     *     not exist, the payload is too large, its instances are all busy) or the function failed;
     *     {@link FunctionCallException#errorType()} says which
     */
    byte[] invoke(String function, byte[] payload);

    /** {@link #invoke(String, byte[])} with a UTF-8 event and result. */
    default String invoke(String function, String payload) {
        return new String(invoke(function, payload.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    /**
     * Queues {@code function} to run with {@code payload} (Lambda's {@code Event}): the node has
     * written the event to its data directory when this returns, and runs and retries it as any
     * asynchronous invocation.
     *
     * @param payload the event, JSON, at most 256 KB
     * @return the invocation's request id
     * @throws FunctionCallException when the node does not accept the event
     */
    String invokeEvent(String function, byte[] payload);
}
