package dev.thaw.scaling;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Where one function's requests wait for an instance, as Knative's activator holds them while
 * instances come: first in, first out, and bounded, so that a function that cannot keep up is
 * answered at once with a reason instead of holding memory and connections without limit.
 *
 * <p>The buffer holds whatever the node queues (its invocation objects) and stamps each with the
 * ticker, so that the node can tell how long the oldest has waited and give up on those that waited
 * too long. All methods are thread-safe; none blocks.
 *
 * @param <T> what the node queues
 */
public interface RequestBuffer<T> {

    /**
     * @param function the function's name, for refusal messages
     * @param capacity most requests waiting at once, at least 0 (0 refuses every request)
     * @param ticker the time source
     * @param <T> what the node queues
     * @return an empty buffer
     */
    static <T> RequestBuffer<T> create(String function, int capacity, Ticker ticker) {
        return create(function, capacity, "its request buffer capacity", ticker);
    }

    /**
     * @param function the function's name, for refusal messages
     * @param capacity most requests waiting at once, at least 0 (0 refuses every request)
     * @param capacitySetting what a user raises to raise the capacity, as refusals name it (for
     *     example {@code "the node's --queue-limit"})
     * @param ticker the time source
     * @param <T> what the node queues
     * @return an empty buffer
     */
    static <T> RequestBuffer<T> create(String function, int capacity, String capacitySetting, Ticker ticker) {
        return new BoundedRequestBuffer<>(Checks.function(function), capacity,
                Objects.requireNonNull(capacitySetting, "capacitySetting"), Objects.requireNonNull(ticker, "ticker"));
    }

    /**
     * Appends a request unless the buffer is full. A refusal reads: <i>function 'hello' has 100
     * requests waiting for instances (the limit); retry later or raise its request buffer
     * capacity</i>.
     *
     * @param request the request
     * @return {@link Admission.Admitted} or {@link Admission.Refused}
     */
    Admission offer(T request);

    /**
     * Puts back at the head a request that was taken out and could not be served (its instance
     * failed to start, say). It was admitted once, so it is never refused, and it keeps the time it
     * first entered.
     *
     * @param request the request
     * @param waitingSince the ticker time it first entered, from {@link Waiting#since()}
     */
    void requeue(T request, long waitingSince);

    /** @return the oldest request and when it entered, removed; empty when the buffer is empty */
    Optional<Waiting<T>> poll();

    /**
     * Removes the requests that have waited longer than {@code maxWait}, oldest first, for the node
     * to answer (with a timeout, say).
     *
     * @param maxWait the longest a request may wait
     * @return the removed requests, oldest first
     */
    List<T> expire(Duration maxWait);

    /**
     * Removes the requests that match (ones whose caller went away, say), keeping the others' order.
     *
     * @param filter which to remove
     * @return how many were removed
     */
    int removeIf(Predicate<? super T> filter);

    /** @return every request, oldest first, removed (the function is redeployed or deleted) */
    List<T> drain();

    /** @return how long the oldest request has waited, empty when the buffer is empty */
    Optional<Duration> oldestWait();

    /** @return requests waiting */
    int size();

    /** @return most requests waiting at once */
    int capacity();

    /** @return admissions refused since the buffer was created */
    long refused();

    /**
     * A request in the buffer and when it entered.
     *
     * @param request the request
     * @param since the ticker time it entered
     * @param <T> what the node queues
     */
    record Waiting<T>(T request, long since) {
    }
}
