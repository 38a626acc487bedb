package dev.thaw.core;

/**
 * A node's scaling defaults: what a deploy through it gets where its manifest says nothing
 * ({@code thaw up --default-max-instances --default-min-instances --default-target-concurrency}). They
 * are written into the version's manifest at the deploy, so a version keeps the settings it was
 * deployed with whatever node later runs it.
 *
 * @param maxInstances most instances at once, 1-256 (thaw's default 8)
 * @param minInstances instances kept with no traffic, 0 up to {@code maxInstances} (default 0)
 * @param targetConcurrency invocations in flight per instance the autoscaler aims at, above 0 and at
 *     most 1000 (default 1, as Lambda)
 */
public record ScalingDefaults(int maxInstances, int minInstances, double targetConcurrency) {
    /** thaw's own defaults. */
    public static final ScalingDefaults THAW = new ScalingDefaults(FunctionManifest.DEFAULT_MAX_INSTANCES, 0, 1.0);

    /** Checks the bounds, naming the value that is out of them. */
    public ScalingDefaults {
        if (maxInstances < 1 || maxInstances > 256) {
            throw new IllegalArgumentException("the default maximum of instances must be 1-256, got " + maxInstances);
        }
        if (minInstances < 0 || minInstances > maxInstances) {
            throw new IllegalArgumentException("the default minimum of instances must be 0-" + maxInstances
                    + " (the default maximum), got " + minInstances);
        }
        if (!(targetConcurrency > 0) || targetConcurrency > 1000) {
            throw new IllegalArgumentException("the default target concurrency must be above 0 and at most 1000, got "
                    + targetConcurrency);
        }
    }

    /**
     * @return {@code manifest} with these defaults where it says nothing: its maximum of instances,
     *     its scaling's minimum and target concurrency (its other scaling settings as they are)
     */
    public FunctionManifest fill(FunctionManifest manifest) {
        FunctionManifest.Scaling s = manifest.scaling();
        int max = manifest.maxInstances() == null ? maxInstances : manifest.maxInstances();
        FunctionManifest.Scaling filled = new FunctionManifest.Scaling(
                // a manifest's own lower maximum bounds the default minimum, rather than refusing a minimum it never set
                s == null || s.minInstances() == null ? Integer.valueOf(Math.min(minInstances, max)) : s.minInstances(),
                s == null || s.targetConcurrency() == null ? Double.valueOf(targetConcurrency) : s.targetConcurrency(),
                s == null ? null : s.prewarm(), s == null ? null : s.next(), s == null ? null : s.freshen());
        return new FunctionManifest(manifest.name(), manifest.handler(), manifest.runtime(), manifest.memoryMb(),
                manifest.timeoutMs(), manifest.environment(), max, manifest.snapshots(), manifest.restoreMode(),
                manifest.priming(), filled, manifest.mayInvoke(), manifest.warmSnapshotAfter());
    }
}
