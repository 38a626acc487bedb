package dev.thaw.scaling;

import java.time.Duration;

/**
 * What one function's freshen has taken, for billing and {@code describe}.
 *
 * @param granted calls granted
 * @param refused calls refused
 * @param time freshen time reported, in total (what the function owner pays for)
 * @param overruns calls reported to have run longer than their time limit (the node should have
 *     stopped them; each is billed for what it took)
 */
public record FreshenUsage(long granted, long refused, Duration time, long overruns) {
}
