package dev.thaw.store;

/**
 * Counters of one tier since the store was opened. Latencies are those of the tier's own get
 * calls, in microseconds.
 *
 * @param tier the tier's name: {@code memory}, {@code disk} or {@code s3}
 * @param hits gets that found the object
 * @param misses gets that did not
 * @param bytesRead bytes returned by gets
 * @param bytesWritten bytes written by puts
 * @param puts objects written
 * @param deletes objects deleted
 * @param discarded objects found corrupted in this tier and discarded
 * @param errors calls that failed (tier unreachable, I/O error), and objects that failed verification
 * @param integrityFailures objects of this tier (chunks, manifests) that failed verification: authentication
 *     tag, plaintext hash or length; each is counted in {@code errors} too
 * @param storedBytes bytes the tier holds now, or -1 where the tier does not know (S3)
 * @param capacityBytes the tier's bound, or -1 where it has none
 * @param getP50Micros median get latency
 * @param getP99Micros 99th percentile get latency
 * @param getMaxMicros slowest get
 * @param getCount gets whose latency was recorded (found or not)
 * @param getSumMicros the recorded gets' latencies summed
 */
public record TierStats(String tier, long hits, long misses, long bytesRead, long bytesWritten, long puts,
                        long deletes, long discarded, long errors, long integrityFailures, long storedBytes,
                        long capacityBytes, long getP50Micros, long getP99Micros, long getMaxMicros, long getCount,
                        long getSumMicros) {
}
