package dev.thaw.api;

/**
 * A handler's freshen hook: the platform calls it on an idle instance shortly before an invocation it
 * predicts (the function follows another in a chain that just ran), so the invocation finds what it
 * needs ready: open connections, refresh credentials, prefetch data into a cache with a time to live.
 *
 * <p>Implement it on the handler class (thaw's {@link Handler} or an AWS Lambda handler); a handler
 * that cannot depend on thaw names a public method of its own instead ({@code thaw deploy --freshen
 * METHOD}), taking no argument or one {@link FreshenContext}.
 *
 * <p>The hook's time is capped per call ({@link FreshenContext#remainingTimeMillis()}); past it the
 * runtime stops waiting and the instance takes work again while the hook's thread finishes on its
 * own. Calls are rate-limited per function and reported apart from invocations ({@code FRESHEN} lines
 * with their duration), so a hook cannot buy compute outside the invocations that pay for it. A hook
 * that throws is logged and changes nothing for the invocation that follows.
 */
@FunctionalInterface
public interface Freshen {

    /**
     * Prepares for a predicted invocation.
     *
     * @param context the time left and why the call was made
     * @throws Exception any failure: logged, not retried
     */
    void freshen(FreshenContext context) throws Exception;
}
