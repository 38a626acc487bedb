package dev.thaw.scaling;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

/** Preconditions whose messages name the bad value, and the way figures are written in reasons. */
final class Checks {
    static final long NANOS_PER_SECOND = 1_000_000_000L;

    private Checks() {
    }

    /** Throws {@link IllegalArgumentException} with the formatted message unless {@code ok}. */
    static void requireArgument(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, format, args));
        }
    }

    /** Throws {@link IllegalStateException} with the formatted message unless {@code ok}. */
    static void requireState(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalStateException(String.format(Locale.ROOT, format, args));
        }
    }

    /** A duration that must be positive, named {@code name} in the message. */
    static Duration positive(Duration d, String name) {
        Objects.requireNonNull(d, name);
        requireArgument(!d.isNegative() && !d.isZero(), "%s must be positive, got %s", name, seconds(d));
        return d;
    }

    /** A duration that must not be negative, named {@code name} in the message. */
    static Duration notNegative(Duration d, String name) {
        Objects.requireNonNull(d, name);
        requireArgument(!d.isNegative(), "%s must not be negative, got %s", name, seconds(d));
        return d;
    }

    /** A function name: not null, not blank. */
    static String function(String name) {
        Objects.requireNonNull(name, "function");
        requireArgument(!name.isBlank(), "function name must not be blank, got '%s'", name);
        return name;
    }

    /** {@code 1.5 s}, {@code 30 s}, {@code 0.25 s}: how durations appear in messages and reasons. */
    static String seconds(Duration d) {
        return seconds(d.toNanos());
    }

    /** Nanoseconds written as seconds, at most three decimals, trailing zeros dropped. */
    static String seconds(long nanos) {
        return decimal(nanos / (double) NANOS_PER_SECOND) + " s";
    }

    /** A figure with at most three decimals and no trailing zeros: {@code 2}, {@code 2.5}, {@code 0.333}. */
    static String decimal(double value) {
        String s = String.format(Locale.ROOT, "%.3f", value);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
