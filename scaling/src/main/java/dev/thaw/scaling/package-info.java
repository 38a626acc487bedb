/**
 * Policies for working ahead of demand, as pure Java driven by an injected {@link dev.thaw.scaling.Ticker}:
 * {@link dev.thaw.scaling.ConcurrencyRecorder} (per-second average concurrency),
 * {@link dev.thaw.scaling.Autoscaler} (Knative's KPA: stable and panic windows, rate limits, scale
 * to zero), {@link dev.thaw.scaling.RequestBuffer} (the activator's bounded FIFO),
 * {@link dev.thaw.scaling.ChainPredictor} (function chains learned or declared, with the outcome of
 * every prediction), {@link dev.thaw.scaling.FreshenLimiter} (freshen calls per window and their
 * time) and {@link dev.thaw.scaling.PrewarmPolicy} (how many pre-restored clones to keep).
 *
 * <p>Nothing here starts a process, opens a socket or schedules a task: the node calls in with what
 * happened and acts on the answers. Bad arguments throw {@link java.lang.IllegalArgumentException}
 * with a message that names the value; misuse throws {@link java.lang.IllegalStateException}.
 */
package dev.thaw.scaling;
