package dev.thaw.core;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * How a clone is restored from its snapshot (docs/DESIGN.md, "Restore modes"). The wire form, in
 * manifests, flags and headers, is the lower-case name.
 */
public enum RestoreMode {
    /** The whole image is in the clone before its handler runs. */
    EAGER,
    /** Anonymous memory is served page by page on fault by thaw's lazy-pages daemon. */
    LAZY,
    /** Lazy, plus the first restore's working set recorded and prefetched by later ones. */
    REAP;

    /** The wire names, in declaration order. */
    public static final List<String> WIRE_NAMES = Arrays.stream(values()).map(RestoreMode::wireName).toList();

    /** @return {@code eager}, {@code lazy} or {@code reap} */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param wireName {@code eager}, {@code lazy} or {@code reap}
     * @return the mode
     * @throws IllegalArgumentException naming the bad value and the valid ones
     */
    public static RestoreMode parse(String wireName) {
        for (RestoreMode m : values()) {
            if (m.wireName().equals(wireName)) {
                return m;
            }
        }
        throw new IllegalArgumentException("restore mode must be one of " + WIRE_NAMES + ", not '" + wireName + "'");
    }

    @Override
    public String toString() {
        return wireName();
    }
}
