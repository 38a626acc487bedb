package dev.thaw.runtime.crac;

/**
 * thaw's counterpart of {@code jdk.crac.Context}: a set of resources notified around snapshots. A
 * context is itself a resource, as in CRaC, so contexts can nest.
 *
 * @param <R> the resource type
 */
public abstract class Context<R extends Resource> implements Resource {

    /** For subclasses. */
    protected Context() {
    }

    /**
     * Registers a resource; it is notified before every checkpoint and after every restore for as
     * long as the context holds it.
     *
     * @param resource the resource
     */
    public abstract void register(R resource);
}
