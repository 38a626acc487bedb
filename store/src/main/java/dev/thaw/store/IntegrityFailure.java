package dev.thaw.store;

/** Stored bytes failed verification; the message says how, never what the key is. */
final class IntegrityFailure extends Exception {
    private static final long serialVersionUID = 1L;

    IntegrityFailure(String reason) {
        super(reason);
    }
}
