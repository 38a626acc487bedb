package dev.thaw.scaling;

import java.time.Duration;
import java.util.Objects;

/**
 * How many pre-restored clones a function keeps: restored processes waiting to be handed a request,
 * which absorb a burst or a predicted invocation without its restore. A pure function of its
 * inputs; it holds no state and is thread-safe.
 *
 * <p>In order: clones that waited longer than {@link #maxCloneWait()} are retired (their state is
 * stale and a new restore is cheap); if the autoscaler wants more instances than the function has,
 * the freshest clones are promoted to instances; the target is the larger of the configured
 * {@code prewarm} and the predictions idle instances will not absorb, within the room
 * {@code maxInstances} leaves beside the instances wanted; the oldest clones beyond the target are
 * retired, and clones are started up to it.
 */
public interface PrewarmPolicy {

    /** Default longest wait of a clone. */
    Duration DEFAULT_MAX_CLONE_WAIT = Duration.ofMinutes(5);

    /**
     * @param maxCloneWait how long a clone may wait before it is retired
     * @return the policy
     */
    static PrewarmPolicy create(Duration maxCloneWait) {
        return new ClonePrewarmPolicy(Checks.positive(maxCloneWait, "maxCloneWait"));
    }

    /** @return the policy with clones retired after {@link #DEFAULT_MAX_CLONE_WAIT} */
    static PrewarmPolicy defaults() {
        return create(DEFAULT_MAX_CLONE_WAIT);
    }

    /** @return how long a clone may wait before it is retired */
    Duration maxCloneWait();

    /**
     * @param in the function's state
     * @return what to do with its clones
     */
    PrewarmPlan plan(PrewarmInputs in);
}
