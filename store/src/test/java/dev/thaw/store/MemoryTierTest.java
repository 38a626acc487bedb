package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The off-heap memory tier: what goes in comes out, and what leaves the cache is freed, even under readers. */
class MemoryTierTest {
    private static final int KIB = 1024;

    @Test
    void objectsComeBackAsCopiesAndTheirNativeMemoryFollowsTheCache() {
        try (MemoryTier tier = new MemoryTier(4L << 20)) {
            byte[] a = TestSupport.bytes(new SplittableRandom(1), 512 * KIB);
            tier.put("c/a", a);
            byte[] got = tier.get("c/a");
            assertThat(got).isEqualTo(a).isNotSameAs(a);
            got[0] ^= 1;
            assertThat(tier.get("c/a")).as("a reader's copy is its own").isEqualTo(a);
            assertThat(tier.nativeBytes()).isEqualTo(a.length);
            assertThat(tier.list("c/")).singleElement().matches(i -> i.size() == a.length);

            tier.put("c/a", new byte[0]); // replaced: the old object is freed
            assertThat(tier.get("c/a")).isEmpty();
            assertThat(tier.nativeBytes()).isZero();

            for (int i = 0; i < 32; i++) { // 16 MB through a 4 MB tier
                tier.put("c/" + i, TestSupport.bytes(new SplittableRandom(i), 512 * KIB));
            }
            tier.cleanUp();
            assertThat(tier.storedBytes()).isLessThanOrEqualTo(4L << 20);
            assertThat(tier.nativeBytes()).as("evicted objects are freed")
                    .isEqualTo(tier.list("c/").stream().mapToLong(ObjectTier.ObjectInfo::size).sum());
            tier.delete("c/31");
            assertThat(tier.get("c/31")).isNull();
            tier.clear();
            assertThat(tier.nativeBytes()).isZero();
            assertThat(tier.get("c/30")).isNull();
        }
    }

    @Test
    void readersRacingEvictionSeeTheWholeObjectOrAMissNeverFreedMemory() throws Exception {
        int objects = 64;
        List<byte[]> data = new ArrayList<>();
        for (int i = 0; i < objects; i++) {
            byte[] b = new byte[64 * KIB];
            Arrays.fill(b, (byte) i);
            data.add(b);
        }
        ExecutorService readers = Executors.newFixedThreadPool(3);
        try (MemoryTier tier = new MemoryTier(1L << 20)) { // 16 objects fit: the writer keeps evicting
            AtomicBoolean stop = new AtomicBoolean();
            List<Future<long[]>> seen = new ArrayList<>();
            for (int r = 0; r < 3; r++) {
                seen.add(readers.submit(() -> {
                    long hits = 0;
                    long misses = 0;
                    SplittableRandom random = new SplittableRandom();
                    while (!stop.get()) {
                        int i = random.nextInt(objects);
                        // half the reads copy the object out, half look at it where it lies
                        byte[] got = random.nextBoolean() ? tier.get("c/" + i)
                                : tier.read("c/" + i, object -> object.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
                        if (got == null) {
                            misses++;
                        } else {
                            assertThat(got).isEqualTo(data.get(i));
                            hits++;
                        }
                    }
                    return new long[] {hits, misses};
                }));
            }
            for (int round = 0; round < 200; round++) {
                for (int i = 0; i < objects; i++) {
                    tier.put("c/" + i, data.get(i));
                }
            }
            stop.set(true);
            long hits = 0;
            for (Future<long[]> f : seen) {
                hits += f.get()[0];
            }
            assertThat(hits).isPositive();
            tier.cleanUp();
            assertThat(tier.nativeBytes()).as("freed: all but what the cache holds")
                    .isEqualTo(tier.list("c/").stream().mapToLong(ObjectTier.ObjectInfo::size).sum())
                    .isLessThanOrEqualTo(1L << 20);
            tier.clear();
            assertThat(tier.nativeBytes()).isZero();
        } finally {
            readers.shutdownNow();
        }
    }
}
