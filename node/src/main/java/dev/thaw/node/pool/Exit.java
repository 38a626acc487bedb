package dev.thaw.node.pool;

import dev.thaw.core.ThawException;
import java.util.Objects;
import java.util.Optional;

/**
 * How an instance ended, as its starter understood it, and what the pool does about the
 * invocation it held or the one that waited for it.
 *
 * @param description what happened, worded to follow "the instance of function 'f' " (e.g.
 *     {@code "was killed by signal 9 (SIGKILL)"} or {@code "exited with code 3"}), with the
 *     instance's own last log lines when they say something
 * @param retryInvocation whether the invocation it held goes back to the head of the queue (its
 *     start failed in a way another start repairs) instead of failing
 * @param startError for an instance that never became ready: the error the oldest waiting
 *     invocation gets; empty when another start is to be tried instead
 * @param outOfMemory whether the instance passed its memory limit
 */
public record Exit(String description, boolean retryInvocation, Optional<ThawException> startError, boolean outOfMemory) {

    public Exit {
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(startError, "startError");
    }

    /** @return an exit whose held invocation, if any, fails as crashed */
    public static Exit of(String description) {
        return new Exit(description, false, Optional.empty(), false);
    }
}
