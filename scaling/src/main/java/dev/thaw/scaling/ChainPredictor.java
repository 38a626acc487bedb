package dev.thaw.scaling;

import java.util.Collection;
import java.util.List;
import java.util.Objects;

/**
 * Predicts which functions will be invoked next from the ones being invoked, as freshen and XDT's
 * chains suggest: a chain A to B is learned when B repeatedly starts shortly after A starts, or
 * declared ({@code --next B} in A's manifest) and then always predicts. The node acts on a
 * prediction ahead of demand (a pre-restored clone of B, B's freshen hook) and the predictor keeps
 * score: a prediction is <i>used</i> when B is invoked within the window after it and
 * <i>wasted</i> when the window passes without, per chain, so that a user sees what mispredictions
 * cost.
 *
 * <p>Start to start: B follows A when B starts within {@link ChainSettings#window()} after A
 * starts. Predictions are made when A starts, which gives a restore of B the whole of A's run as
 * lead time, and a B that A calls synchronously (starting before A ends) is a chain like one
 * triggered after A ends. The window must then cover A's run plus the trigger's delay.
 *
 * <p>Rounds: an invocation of A that finds no round of A open opens one, which lasts the window;
 * further invocations of A during it join it (a burst of A counts once). Each function that starts
 * during the round follows A in it, with the delay since the round began. Support is the number of
 * A's last {@link ChainSettings#history()} rounds (those younger than
 * {@link ChainSettings#forgetAfter()}) that B followed in; a chain predicts at
 * {@link ChainSettings#minSupport()}. A chain A to A is never learned nor declared.
 *
 * <p>How often: the invocation that opens a round of A predicts each of A's chains once; later ones
 * in the round predict B again as B's invocations per invocation of A in the history say more B
 * are due, up to the most invocations of B any one round of the history held. A B that follows
 * every A is predicted at every A, and a burst of A predicts a burst of B once bursts have been
 * seen; an A called fifty times a round that B follows once predicts B once a round, since every
 * prediction pending counts as a clone of B wanted. A declared chain with no history predicts at
 * every invocation.
 *
 * <p>All methods are thread-safe (one monitor per predictor; the node needs one per node).
 */
public interface ChainPredictor {

    /** Most predictions tracked at once; beyond, predictions are still made but counted as untracked. */
    int MAX_PENDING = 10_000;
    /** Most functions counted as following in one round. */
    int MAX_FOLLOWERS_PER_ROUND = 16;

    /**
     * @param settings window, support and forgetting
     * @param ticker the time source
     * @return a predictor that knows no chains
     */
    static ChainPredictor create(ChainSettings settings, Ticker ticker) {
        return new HistoryChainPredictor(Objects.requireNonNull(settings, "settings"), Objects.requireNonNull(ticker, "ticker"));
    }

    /**
     * Records that {@code function} starts now: it follows the open rounds of other functions,
     * settles the oldest pending prediction of it as used, and predicts what follows it.
     *
     * @param function the function invoked
     * @return what this invocation predicts: the chains {@link #predict(String)} gave just before it
     *     that are due again in this round (all of them at a round's first invocation), each tracked
     *     until used or wasted
     */
    List<Prediction> invoked(String function);

    /**
     * What an invocation of {@code function} would predict now, without recording anything:
     * declared chains first, then learned ones by support.
     *
     * @param function the function
     * @return the predictions, empty when none
     */
    List<Prediction> predict(String function);

    /**
     * Sets the functions declared to follow {@code function}, replacing any declared before (an
     * empty collection removes them).
     *
     * @param function the function
     * @param next the functions that follow it
     * @throws IllegalArgumentException when {@code next} holds {@code function} itself or a blank name
     */
    void declare(String function, Collection<String> next);

    /**
     * Forgets everything about {@code function}: its rounds, its declared chains, the chains that
     * lead to it, their pending predictions and their outcomes (the function was deleted).
     *
     * @param function the function
     */
    void forget(String function);

    /** @return the outcome of every chain that has predicted, sorted by {@code from} then {@code to} */
    List<ChainOutcome> outcomes();

    /**
     * @param function the function
     * @return predictions of {@code function} still waiting for it within their window
     */
    int pending(String function);

    /** @return the settings */
    ChainSettings settings();
}
