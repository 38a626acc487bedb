package dev.thaw.client;

import java.util.Objects;
import java.util.Optional;

/**
 * How {@link ThawClient#invoke(String, byte[], InvokeOptions)} invokes, as Lambda's Invoke does:
 * which version, which invocation type, and whether the answer carries the invocation's log.
 *
 * @param qualifier {@code $LATEST}, a version number or an alias; empty for the latest version
 * @param type synchronous, asynchronous or a dry run
 * @param tailLog whether the answer carries the last 4 KB of the invocation's log (Lambda's {@code LogType: Tail})
 */
public record InvokeOptions(Optional<String> qualifier, Type type, boolean tailLog) {

    /** Lambda's invocation types, by their wire names. */
    public enum Type {
        /** Synchronous: the answer is the function's result (the default). */
        REQUEST_RESPONSE("RequestResponse"),
        /** Asynchronous: queued durably, answered 202 at once, run at least once with retries. */
        EVENT("Event"),
        /** Checks the function, qualifier and payload without running anything: 204. */
        DRY_RUN("DryRun");

        private final String wireName;

        Type(String wireName) {
            this.wireName = wireName;
        }

        /** @return the {@code X-Amz-Invocation-Type} value */
        public String wireName() {
            return wireName;
        }

        /**
         * @param value {@code RequestResponse}, {@code Event} or {@code DryRun}
         * @return the type
         * @throws IllegalArgumentException naming the value and the valid ones
         */
        public static Type fromWireName(String value) {
            for (Type t : values()) {
                if (t.wireName.equals(value)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("invocation type '" + value
                    + "' is not one of RequestResponse, Event, DryRun");
        }
    }

    public InvokeOptions {
        Objects.requireNonNull(qualifier, "qualifier");
        Objects.requireNonNull(type, "type");
    }

    /** @return a synchronous invocation of the latest version, without its log */
    public static InvokeOptions defaults() {
        return new InvokeOptions(Optional.empty(), Type.REQUEST_RESPONSE, false);
    }

    /** @return these options with a qualifier ({@code null} or empty for the latest version) */
    public InvokeOptions withQualifier(String q) {
        return new InvokeOptions(Optional.ofNullable(q).filter(s -> !s.isEmpty()), type, tailLog);
    }

    /** @return these options with another invocation type */
    public InvokeOptions withType(Type t) {
        return new InvokeOptions(qualifier, t, tailLog);
    }

    /** @return these options asking for the log tail, or not */
    public InvokeOptions withTailLog(boolean tail) {
        return new InvokeOptions(qualifier, type, tail);
    }
}
