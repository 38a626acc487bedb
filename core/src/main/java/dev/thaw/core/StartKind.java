package dev.thaw.core;

import java.util.Locale;

/**
 * How the instance that served an invocation got ready, as {@code X-Thaw-Start} and the
 * {@code REPORT} line name it: the node sets it, clients read it.
 */
public enum StartKind {
    /** An idle instance was reused. */
    WARM,
    /** A new instance was restored from the function's snapshot. */
    RESTORE,
    /** A new instance booted a JVM and ran the function's init. */
    BOOT,
    /** A clone restored ahead of demand, waiting for work, took the invocation. */
    PREWARMED,
    /** The header was missing or had a value this client does not know. */
    UNKNOWN;

    /** @return the kind named by an {@code X-Thaw-Start} value, {@link #UNKNOWN} when absent or unknown */
    public static StartKind fromHeader(String value) {
        if (value == null) {
            return UNKNOWN;
        }
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "warm" -> WARM;
            case "restore" -> RESTORE;
            case "boot" -> BOOT;
            case "prewarmed" -> PREWARMED;
            default -> UNKNOWN;
        };
    }

    /** @return the wire name: {@code warm}, {@code restore}, {@code boot} or {@code unknown} */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
