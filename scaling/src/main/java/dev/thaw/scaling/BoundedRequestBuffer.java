package dev.thaw.scaling;

import static dev.thaw.scaling.Checks.requireArgument;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

/*
 * Design. A deque of (request, ticker time) under one monitor. The bound is checked and the request
 * appended in the same critical section, which is the point of owning the queue rather than
 * answering "may I?" for a queue the caller holds: two threads cannot both see 99 of 100 and both
 * append. Requeued requests go to the head and may take the buffer over its capacity by the number
 * of requests taken out at that moment, never more: they were admitted already, and refusing one
 * after it waited would be worse than a short overshoot.
 */
final class BoundedRequestBuffer<T> implements RequestBuffer<T> {
    private final String function;
    private final int capacity;
    private final String capacitySetting;
    private final Ticker ticker;
    private final ArrayDeque<Waiting<T>> queue = new ArrayDeque<>();
    private long refused;

    BoundedRequestBuffer(String function, int capacity, String capacitySetting, Ticker ticker) {
        requireArgument(capacity >= 0, "request buffer capacity must be >= 0, got %d", capacity);
        this.function = function;
        this.capacity = capacity;
        this.capacitySetting = capacitySetting;
        this.ticker = ticker;
    }

    @Override
    public synchronized Admission offer(T request) {
        Objects.requireNonNull(request, "request");
        if (queue.size() >= capacity) {
            refused++;
            return new Admission.Refused("function '" + function + "' has " + queue.size() + " request"
                    + (queue.size() == 1 ? "" : "s") + " waiting for instances (the limit); retry later or raise "
                    + capacitySetting);
        }
        int ahead = queue.size();
        queue.addLast(new Waiting<>(request, ticker.read()));
        return new Admission.Admitted(ahead);
    }

    @Override
    public synchronized void requeue(T request, long waitingSince) {
        queue.addFirst(new Waiting<>(Objects.requireNonNull(request, "request"), waitingSince));
    }

    @Override
    public synchronized Optional<Waiting<T>> poll() {
        return Optional.ofNullable(queue.pollFirst());
    }

    @Override
    public synchronized List<T> expire(Duration maxWait) {
        long limit = Checks.notNegative(maxWait, "maxWait").toNanos();
        long now = ticker.read();
        List<T> expired = new ArrayList<>();
        for (Iterator<Waiting<T>> it = queue.iterator(); it.hasNext(); ) {
            Waiting<T> w = it.next();
            if (now - w.since() > limit) {
                expired.add(w.request());
                it.remove();
            }
        }
        return expired;
    }

    @Override
    public synchronized int removeIf(Predicate<? super T> filter) {
        Objects.requireNonNull(filter, "filter");
        int before = queue.size();
        queue.removeIf(w -> filter.test(w.request()));
        return before - queue.size();
    }

    @Override
    public synchronized List<T> drain() {
        List<T> all = new ArrayList<>(queue.size());
        for (Waiting<T> w : queue) {
            all.add(w.request());
        }
        queue.clear();
        return all;
    }

    @Override
    public synchronized Optional<Duration> oldestWait() {
        if (queue.isEmpty()) {
            return Optional.empty();
        }
        long now = ticker.read();
        long longest = 0;
        for (Waiting<T> w : queue) {
            longest = Math.max(longest, now - w.since()); // a requeued request may be older than the head
        }
        return Optional.of(Duration.ofNanos(longest));
    }

    @Override
    public synchronized int size() {
        return queue.size();
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public synchronized long refused() {
        return refused;
    }

    @Override
    public synchronized String toString() {
        return "RequestBuffer[" + function + ", " + queue.size() + "/" + capacity + "]";
    }
}
