package dev.thaw.runtime.crac;

/** A checkpoint failed; the reasons are the suppressed exceptions (CRaC's convention). */
public class CheckpointException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Creates an exception whose causes are added with {@link #addSuppressed(Throwable)}. */
    public CheckpointException() {
        super();
    }
}
