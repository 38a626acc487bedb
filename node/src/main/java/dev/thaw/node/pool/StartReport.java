package dev.thaw.node.pool;

import java.util.Map;

/** How an instance's start went (a restore's figures), reported with its first invocation. */
public interface StartReport {
    /** @return header names without their {@code X-Thaw-} prefix, to values */
    Map<String, String> headers();

    /** @return tab-separated {@code Name: value} fields for the {@code REPORT} line */
    String reportFields();
}
