package dev.thaw.cluster;

import java.time.Duration;
import java.util.regex.Pattern;

/** Preconditions whose messages name the bad value. */
final class Checks {
    /** Node ids and cluster names: one path segment of a key, readable in etcdctl's output. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** The node's rule for function names (dev.thaw.core.FunctionManifest). */
    private static final Pattern FUNCTION = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
    /** The node's rule for alias names (Lambda's): not all digits, so never mistaken for a version. */
    private static final Pattern ALIAS = Pattern.compile("(?!^[0-9]+$)[a-zA-Z0-9_-]{1,128}");
    /** Snapshot ids and object keys are free text within these bounds. */
    private static final int MAX_TEXT = 1024;

    private Checks() {
    }

    static String id(String what, String value) {
        if (value == null || !ID.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " must be 1-64 letters, digits, '.', '_' or '-' (not starting with"
                    + " one of the last three), got " + quote(value));
        }
        return value;
    }

    static String function(String value) {
        if (value == null || !FUNCTION.matcher(value).matches()) {
            throw new IllegalArgumentException("function name must be 1-64 letters, digits, '_' or '-' (not starting with"
                    + " '_' or '-'), got " + quote(value));
        }
        return value;
    }

    static String alias(String value) {
        if (value == null || !ALIAS.matcher(value).matches()) {
            throw new IllegalArgumentException("alias name must be 1-128 letters, digits, '-' or '_', not all digits,"
                    + " got " + quote(value));
        }
        return value;
    }

    static long version(long value) {
        if (value < 1) {
            throw new IllegalArgumentException("function version must be 1 or more, got " + value);
        }
        return value;
    }

    static String text(String what, String value) {
        if (value == null || value.isEmpty() || value.length() > MAX_TEXT) {
            throw new IllegalArgumentException(what + " must be 1-" + MAX_TEXT + " characters, got " + quote(value));
        }
        for (int i = 0; i < value.length(); i++) {
            if (Character.isISOControl(value.charAt(i))) {
                throw new IllegalArgumentException(what + " must not contain control characters, got " + quote(value));
            }
        }
        return value;
    }

    static <T> T notNull(String what, T value) {
        if (value == null) {
            throw new IllegalArgumentException(what + " must not be null");
        }
        return value;
    }

    static long notNegative(String what, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(what + " must not be negative, got " + value);
        }
        return value;
    }

    static Duration atLeast(String what, Duration value, Duration min) {
        if (value == null || value.compareTo(min) < 0) {
            throw new IllegalArgumentException(what + " must be at least " + min.toMillis() + " ms, got "
                    + (value == null ? "null" : value.toMillis() + " ms"));
        }
        return value;
    }

    static String quote(String value) {
        return value == null ? "null" : "'" + value + "'";
    }
}
