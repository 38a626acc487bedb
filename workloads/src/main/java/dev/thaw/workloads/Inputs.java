package dev.thaw.workloads;

/** Validation of invocation inputs, with messages that name the field and the allowed range. */
final class Inputs {

    private Inputs() {
    }

    /** Fails unless the input is present. */
    static <T> T required(T input, String example) {
        if (input == null) {
            throw new IllegalArgumentException("missing input: expected a JSON object like " + example);
        }
        return input;
    }

    /** Fails unless {@code min <= value <= max}. */
    static long inRange(String field, long value, long min, long max) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(field + " must be between " + min + " and " + max + ", was " + value);
        }
        return value;
    }

    /** Fails unless {@code min <= value <= max}. */
    static int inRange(String field, int value, int min, int max) {
        return (int) inRange(field, (long) value, min, max);
    }
}
