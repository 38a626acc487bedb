package dev.thaw.runtime.crac;

/** A restore failed; the reasons are the suppressed exceptions (CRaC's convention). */
public class RestoreException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Creates an exception whose causes are added with {@link #addSuppressed(Throwable)}. */
    public RestoreException() {
        super();
    }
}
