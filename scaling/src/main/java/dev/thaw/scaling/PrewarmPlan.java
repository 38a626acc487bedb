package dev.thaw.scaling;

import java.util.List;

/**
 * What to do with one function's pre-restored clones now. Indices refer to
 * {@link PrewarmInputs#cloneWaits()}.
 *
 * @param target clones to keep ready once this plan is carried out
 * @param promote clones to hand to the function as instances now, because the autoscaler wants
 *     more than it has (the freshest first)
 * @param retire clones to stop: those that waited too long, then the oldest beyond the target
 * @param start clones to restore now to reach the target
 * @param reason a short sentence with the figures behind the target
 */
public record PrewarmPlan(int target, List<Integer> promote, List<Integer> retire, int start, String reason) {

    /** Copies the lists. */
    public PrewarmPlan {
        promote = List.copyOf(promote);
        retire = List.copyOf(retire);
    }
}
