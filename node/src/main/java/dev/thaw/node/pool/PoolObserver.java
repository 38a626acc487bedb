package dev.thaw.node.pool;

import dev.thaw.core.FunctionInfo;
import dev.thaw.core.StartKind;

/** What a pool tells the node's metrics and the function's log. */
public interface PoolObserver {
    /** A line of the function's log ({@code START}, {@code REPORT}, {@code TIMEOUT} …). */
    void log(String line);

    /** An invocation was answered: HTTP-style code, how its instance started, its run time. */
    void invocation(String code, StartKind start, double seconds);

    /** An instance became ready after a cold start of this kind. */
    void coldStart(StartKind kind, double seconds);

    /** The pool's instance and queue counts changed. */
    void counts(FunctionInfo.InstanceCounts counts);

    /** A freshen call ended: whether the hook completed, and how long it took. */
    default void freshened(boolean completed, double seconds) {
    }
}
