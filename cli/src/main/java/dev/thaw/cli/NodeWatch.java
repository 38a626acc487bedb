package dev.thaw.cli;

import dev.thaw.client.ThawClient;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.ThawException;
import java.time.Duration;

/**
 * While an invocation waits, asks the node what the function is doing ({@code GET /functions/NAME},
 * after a quiet second, then every half second) and shows it as progress: a first start booting
 * and taking the snapshot, a restore, a queue. The node does not say which instance serves this
 * invocation, so the text describes the function's state, which is what a waiting user needs.
 */
final class NodeWatch implements AutoCloseable {
    private final Thread thread;

    private NodeWatch(Thread thread) {
        this.thread = thread;
    }

    /** Starts watching function {@code name} on a daemon thread of its own; {@link #close()} stops it. */
    static NodeWatch start(ThawClient client, String name, Progress progress, Duration quietFor, Duration every) {
        Thread t = Thread.ofPlatform().daemon().name("thaw-progress").unstarted(() -> watch(client, name, progress, quietFor, every));
        t.start();
        return new NodeWatch(t);
    }

    private static void watch(ThawClient client, String name, Progress progress, Duration quietFor, Duration every) {
        try {
            Thread.sleep(quietFor);
            String status = "waiting for " + name + "…";
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    status = status(client.describe(name));
                } catch (ThawException e) {
                    // the answer will say what went wrong; meanwhile the last state stands
                }
                if (Thread.currentThread().isInterrupted()) {
                    return;
                }
                progress.show(status + " " + Progress.seconds(progress.elapsed()));
                Thread.sleep(every);
            }
        } catch (InterruptedException e) {
            // the invocation answered
        }
    }

    /** @return what the node is doing for function {@code f}, e.g. {@code restoring hello from its snapshot…} */
    static String status(FunctionInfo f) {
        FunctionInfo.InstanceCounts c = f.instances();
        FunctionInfo.SnapshotInfo s = f.snapshot();
        String state = s == null || s.state() == null ? "none" : s.state();
        String reason = s == null || s.reason() == null ? "" : ": " + s.reason();
        if (c != null && c.starting() > 0) {
            return switch (state) {
                case "ready" -> "restoring " + f.name() + " from its snapshot…";
                case "none", "pending" -> f.snapshotsEnabled()
                        ? "booting " + f.name() + " (no snapshot yet; the first start boots and takes the snapshot)…"
                        : "booting " + f.name() + "…";
                case "disabled" -> "booting " + f.name() + " (snapshots are off" + reason + ")…";
                case "failed" -> "booting " + f.name() + " (its snapshot failed" + reason + ")…";
                default -> "starting an instance of " + f.name() + "…";
            };
        }
        if (c != null && c.queued() > 0) {
            return "waiting for an instance of " + f.name() + " (" + c.busy() + " busy of at most " + f.maxInstances() + ", "
                    + c.queued() + " queued)…";
        }
        if (c != null && c.busy() > 0) {
            return "running " + f.name() + "…";
        }
        return "waiting for " + f.name() + "…";
    }

    @Override
    public void close() {
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
