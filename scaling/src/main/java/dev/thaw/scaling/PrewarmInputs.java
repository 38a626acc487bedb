package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.requireArgument;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What {@link PrewarmPolicy#plan(PrewarmInputs)} decides from: one function's state at one moment.
 *
 * @param prewarm clones the function is configured to keep ready ({@code prewarm N}), at least 0
 * @param desiredInstances what the autoscaler wants ({@link ScaleDecision#desiredInstances()})
 * @param instances the function's instances, starting, idle or busy, clones not included
 * @param idleInstances those of them idle now
 * @param predicted predictions of the function waiting for it ({@link ChainPredictor#pending(String)})
 * @param maxInstances the function's maximum; clones count towards it
 * @param cloneWaits how long each pre-restored clone has waited, in the node's order; the plan
 *     names clones by their index in this list
 */
public record PrewarmInputs(
        int prewarm,
        int desiredInstances,
        int instances,
        int idleInstances,
        int predicted,
        int maxInstances,
        List<Duration> cloneWaits) {

    /** Validates every field and copies the list. */
    public PrewarmInputs {
        requireArgument(prewarm >= 0, "prewarm must be >= 0, got %d", prewarm);
        requireArgument(desiredInstances >= 0, "desiredInstances must be >= 0, got %d", desiredInstances);
        requireArgument(instances >= 0, "instances must be >= 0, got %d", instances);
        requireArgument(idleInstances >= 0 && idleInstances <= instances,
                "idleInstances must be between 0 and instances (%d), got %d", instances, idleInstances);
        requireArgument(predicted >= 0, "predicted must be >= 0, got %d", predicted);
        requireArgument(maxInstances >= 1, "maxInstances must be >= 1, got %d", maxInstances);
        cloneWaits = List.copyOf(Objects.requireNonNull(cloneWaits, "cloneWaits"));
        for (Duration wait : cloneWaits) {
            Checks.notNegative(wait, "clone wait");
        }
    }
}
