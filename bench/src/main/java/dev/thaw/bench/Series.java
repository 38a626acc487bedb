package dev.thaw.bench;

import dev.thaw.core.StartKind;
import java.util.Locale;

/** The three measured series and the start kind each expects. */
enum Series {
    /** Cold starts of the deployment without snapshots: boot-to-first-response. */
    BOOT(StartKind.BOOT),
    /** Cold starts of the deployment with snapshots: restore-to-first-response. */
    RESTORE(StartKind.RESTORE),
    /** Back-to-back invocations of one idle instance. */
    WARM(StartKind.WARM);

    private final StartKind expected;

    Series(StartKind expected) {
        this.expected = expected;
    }

    StartKind expected() {
        return expected;
    }

    String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
