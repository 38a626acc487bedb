package dev.thaw.scaling;

/**
 * What the predictions of one chain came to: the cost of the ones that did not come true is what a
 * user pays for working ahead of demand along this chain.
 *
 * @param from the predicting function
 * @param to the predicted function
 * @param predicted predictions made
 * @param used predictions followed by an invocation of {@code to} within the window
 * @param wasted predictions whose window passed without one
 * @param pending predictions still within their window
 * @param untracked predictions made while the predictor already tracked its most pending ones;
 *     neither used nor wasted
 */
public record ChainOutcome(String from, String to, long predicted, long used, long wasted, long pending, long untracked) {
}
