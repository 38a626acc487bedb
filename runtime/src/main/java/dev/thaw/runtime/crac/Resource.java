package dev.thaw.runtime.crac;

/**
 * thaw's counterpart of {@code jdk.crac.Resource}. The {@code org.crac} facade, told by the system
 * property {@code org.crac.Core.Compat=dev.thaw.runtime.crac}, wraps every resource an application
 * registers in a proxy implementing this interface and registers the proxy with {@link Core}.
 */
public interface Resource {

    /**
     * Called before a checkpoint, in reverse registration order.
     *
     * @param context the context the resource is registered with
     * @throws Exception to veto the checkpoint
     */
    void beforeCheckpoint(Context<? extends Resource> context) throws Exception;

    /**
     * Called after a restore (or after an aborted checkpoint), in registration order.
     *
     * @param context the context the resource is registered with
     * @throws Exception to report a failed restore
     */
    void afterRestore(Context<? extends Resource> context) throws Exception;
}
