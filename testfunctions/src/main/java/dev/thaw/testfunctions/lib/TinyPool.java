package dev.thaw.testfunctions.lib;

import java.util.concurrent.atomic.AtomicInteger;
import org.crac.Context;
import org.crac.Core;
import org.crac.Resource;

/**
 * Simulates a CRaC-aware library (think a connection pool) that knows nothing about thaw: it registers
 * itself with {@code org.crac}, closes before a checkpoint and reopens after a restore.
 */
public final class TinyPool implements Resource {

    private volatile boolean open = true;
    private final AtomicInteger closes = new AtomicInteger();
    private final AtomicInteger reopens = new AtomicInteger();

    /** Opens the pool and registers it with the global CRaC context, as such libraries do. */
    public TinyPool() {
        Core.getGlobalContext().register(this);
    }

    @Override
    public void beforeCheckpoint(Context<? extends Resource> context) {
        open = false;
        closes.incrementAndGet();
    }

    @Override
    public void afterRestore(Context<? extends Resource> context) {
        open = true;
        reopens.incrementAndGet();
    }

    /** @return whether the pool is usable now */
    public boolean isOpen() {
        return open;
    }

    /** @return how many times a checkpoint closed it */
    public int closes() {
        return closes.get();
    }

    /** @return how many times a restore reopened it */
    public int reopens() {
        return reopens.get();
    }
}
