package dev.thaw.runtime.crac;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The global context: resources notified {@code beforeCheckpoint} in reverse registration order and
 * {@code afterRestore} in registration order, as AWS Lambda SnapStart and CRaC do.
 *
 * <p>Resources are held strongly. The {@code org.crac} facade registers a proxy per application
 * resource and keeps only a weak reference to the application's object, so an application resource
 * that nobody else references can still be collected, as with the JDK's implementation.
 *
 * <p>{@link #afterRestore} runs the hooks on a separate thread under a time budget: a hook that
 * hangs must not hang the clone, which the node would otherwise keep waiting for.
 */
public final class OrderedContext extends Context<Resource> {
    private final List<Resource> resources = new ArrayList<>();

    OrderedContext() {
    }

    @Override
    public synchronized void register(Resource resource) {
        if (resource == null) {
            throw new NullPointerException("resource");
        }
        resources.add(resource);
    }

    /** @return how many resources are registered */
    public synchronized int size() {
        return resources.size();
    }

    private synchronized List<Resource> snapshot() {
        return List.copyOf(resources);
    }

    /**
     * Notifies every resource in reverse registration order. All are called even when one fails.
     *
     * @throws CheckpointException with every failure suppressed, when at least one failed
     */
    @Override
    public void beforeCheckpoint(Context<? extends Resource> context) throws CheckpointException {
        List<Resource> all = new ArrayList<>(snapshot());
        java.util.Collections.reverse(all);
        CheckpointException failure = null;
        for (Resource r : all) {
            try {
                r.beforeCheckpoint(this);
            } catch (Exception e) {
                failure = failure == null ? new CheckpointException() : failure;
                failure.addSuppressed(e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Notifies every resource in registration order.
     *
     * @throws RestoreException with every failure suppressed, when at least one failed
     */
    @Override
    public void afterRestore(Context<? extends Resource> context) throws RestoreException {
        RestoreException failure = null;
        for (Resource r : snapshot()) {
            try {
                r.afterRestore(this);
            } catch (Exception e) {
                failure = failure == null ? new RestoreException() : failure;
                failure.addSuppressed(e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Runs {@link #afterRestore} within {@code budget}.
     *
     * @throws RestoreException when a hook failed or the budget ran out (the hook thread is left
     *     behind: the node kills the instance anyway)
     */
    public void afterRestoreWithin(Duration budget) throws RestoreException {
        if (size() == 0) {
            return; // most functions register nothing: no thread to start on the cold-start path
        }
        FutureTask<Void> task = new FutureTask<>(() -> {
            afterRestore(this);
            return null;
        });
        Thread thread = new Thread(task, "thaw-after-restore");
        thread.setDaemon(true);
        thread.start();
        try {
            task.get(budget.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RestoreException re) {
                throw re;
            }
            RestoreException re = new RestoreException();
            re.addSuppressed(e.getCause());
            throw re;
        } catch (TimeoutException e) {
            RestoreException re = new RestoreException();
            re.addSuppressed(new TimeoutException("afterRestore hooks did not finish within " + budget.toMillis() + " ms"));
            throw re;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            RestoreException re = new RestoreException();
            re.addSuppressed(e);
            throw re;
        }
    }
}
