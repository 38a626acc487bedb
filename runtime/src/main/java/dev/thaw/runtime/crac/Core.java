package dev.thaw.runtime.crac;

/**
 * The entry point the {@code org.crac} facade looks up by reflection ({@code getGlobalContext},
 * {@code checkpointRestore}). thaw decides itself when to checkpoint (after init, before the first
 * invocation), so an application cannot request one.
 */
public final class Core {
    private static final OrderedContext GLOBAL = new OrderedContext();

    private Core() {
    }

    /** @return the global context every {@code org.crac} registration lands in */
    public static Context<Resource> getGlobalContext() {
        return GLOBAL;
    }

    /** @return the global context with its thaw-internal operations */
    public static OrderedContext globalContext() {
        return GLOBAL;
    }

    /**
     * Always refuses: thaw checkpoints each function once, after its init.
     *
     * @throws CheckpointException always
     */
    public static void checkpointRestore() throws CheckpointException, RestoreException {
        CheckpointException e = new CheckpointException();
        e.addSuppressed(new UnsupportedOperationException(
                "thaw takes the snapshot itself after the function's init; a function cannot request one"));
        throw e;
    }
}
