package dev.thaw.bench;

/**
 * Runs a cleanup if the JVM is stopped mid-run (Ctrl-C, SIGTERM), when the run's own close and
 * finally never come: a benchmark interrupted during a restore left that restore's CRIU and JVM
 * running and the node's working copies on tmpfs, and one interrupted during a chain left its
 * transfer store's directory. Closing it (the run cleaned up itself) withdraws the cleanup.
 */
final class CleanupOnExit implements AutoCloseable {
    private final Thread hook;

    /**
     * @param name names the hook's thread
     * @param cleanup what the run's own close would do
     */
    CleanupOnExit(String name, Runnable cleanup) {
        hook = new Thread(cleanup, name);
        Runtime.getRuntime().addShutdownHook(hook);
    }

    @Override
    public void close() {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs or ran: it does the same as the run's own close
        }
    }
}
