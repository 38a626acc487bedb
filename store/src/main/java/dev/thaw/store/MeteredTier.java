package dev.thaw.store;

import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Wraps a tier and counts what passes through it: hits, misses, bytes, errors, objects that failed
 * verification, get latency (a histogram for its quantiles, with the count and sum of what it
 * recorded).
 */
final class MeteredTier implements ObjectTier {
    private final ObjectTier tier;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder puts = new LongAdder();
    private final LongAdder deletes = new LongAdder();
    private final LongAdder discarded = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder integrityFailures = new LongAdder();
    private final Histogram getMicros = new ConcurrentHistogram(3);
    /** Sum of the latencies {@link #getMicros} recorded, in nanoseconds (the histogram keeps no exact sum). */
    private final LongAdder getNanosSum = new LongAdder();

    MeteredTier(ObjectTier tier) {
        this.tier = tier;
    }

    ObjectTier unwrap() {
        return tier;
    }

    @Override
    public String name() {
        return tier.name();
    }

    @Override
    public boolean local() {
        return tier.local();
    }

    @Override
    public void put(String key, byte[] data) {
        counted(() -> tier.put(key, data));
        puts.increment();
        bytesWritten.add(data.length);
    }

    @Override
    public void put(String key, java.lang.foreign.MemorySegment data) {
        counted(() -> tier.put(key, data));
        puts.increment();
        bytesWritten.add(data.byteSize());
    }

    @Override
    public byte[] get(String key) {
        long start = System.nanoTime();
        byte[] data;
        try {
            data = tier.get(key);
        } catch (RuntimeException e) {
            errors.increment();
            throw e;
        }
        recordLatency(start);
        (data == null ? misses : hits).increment();
        if (data != null) {
            bytesRead.add(data.length);
        }
        return data;
    }

    /**
     * Counts as {@link #get} does; the latency is the time to find the object, not what the reader
     * does with it. A reader that finds the object failing verification counts as an error of this
     * tier and as one of its integrity failures.
     */
    @Override
    public <T> T read(String key, Reader<T> reader) throws IntegrityFailure {
        long start = System.nanoTime();
        T result;
        try {
            result = tier.read(key, object -> {
                recordLatency(start);
                hits.increment();
                bytesRead.add(object.byteSize());
                return reader.read(object);
            });
        } catch (IntegrityFailure f) {
            failedVerification();
            throw f;
        } catch (RuntimeException e) {
            errors.increment();
            throw e;
        }
        if (result == null) {
            recordLatency(start);
            misses.increment();
        }
        return result;
    }

    /**
     * Counts an object of this tier that failed verification (authentication tag, hash, length)
     * where it was checked outside {@link #read}: an error of the tier, and an integrity failure.
     */
    void failedVerification() {
        integrityFailures.increment();
        errors.increment();
    }

    private void recordLatency(long startNanos) {
        long nanos = Math.max(0, System.nanoTime() - startNanos);
        getMicros.recordValue(nanos / 1000);
        getNanosSum.add(nanos);
    }

    @Override
    public boolean exists(String key) {
        try {
            return tier.exists(key);
        } catch (RuntimeException e) {
            errors.increment();
            throw e;
        }
    }

    @Override
    public void delete(String key) {
        counted(() -> tier.delete(key));
        deletes.increment();
    }

    /** Deletes an object found corrupted, counting it apart. */
    void discard(String key) {
        delete(key);
        discarded.increment();
    }

    @Override
    public List<ObjectInfo> list(String prefix) {
        try {
            return tier.list(prefix);
        } catch (RuntimeException e) {
            errors.increment();
            throw e;
        }
    }

    @Override
    public long storedBytes() {
        return tier.storedBytes();
    }

    @Override
    public long capacityBytes() {
        return tier.capacityBytes();
    }

    @Override
    public void close() {
        tier.close();
    }

    TierStats stats() {
        Histogram h = getMicros.copy();
        return new TierStats(name(), hits.sum(), misses.sum(), bytesRead.sum(), bytesWritten.sum(), puts.sum(),
                deletes.sum(), discarded.sum(), errors.sum(), integrityFailures.sum(), storedBytes(), capacityBytes(),
                h.getValueAtPercentile(50), h.getValueAtPercentile(99), h.getMaxValue(), h.getTotalCount(),
                getNanosSum.sum() / 1000);
    }

    private void counted(Runnable action) {
        try {
            action.run();
        } catch (RuntimeException e) {
            errors.increment();
            throw e;
        }
    }
}
