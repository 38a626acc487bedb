package dev.thaw.api;

/** What a {@link Freshen} hook is told about its call. */
public interface FreshenContext {

    /** @return milliseconds left before the runtime stops waiting for the hook */
    long remainingTimeMillis();

    /** @return why the platform expects an invocation, e.g. {@code "follows producer (learned chain)"} */
    String reason();
}
