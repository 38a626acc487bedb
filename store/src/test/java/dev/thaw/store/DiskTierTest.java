package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class DiskTierTest {
    @TempDir
    Path root;

    private final Set<String> pinned = ConcurrentHashMap.newKeySet();

    private DiskTier open(long capacity) {
        return new DiskTier(root, capacity, new DiskTier.EvictionGuard() {
            @Override
            public boolean candidate(String key) {
                return key.startsWith("c/");
            }

            @Override
            public boolean evictIfAllowed(String key, Runnable evict) {
                if (pinned.contains(key)) {
                    return false;
                }
                evict.run();
                return true;
            }
        });
    }

    private static String key(int n) {
        return "c/%064x".formatted(n);
    }

    /**
     * Reads lend each object whole and exactly, from a platform thread (whose buffer is reused, here
     * for a smaller object after a larger one) and from a virtual one (which gets a buffer per read).
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void readsLendExactlyTheObjectWhateverReadBefore(boolean virtualThread) throws Exception {
        DiskTier tier = open(1 << 20);
        byte[] large = new byte[200_000];
        byte[] small = new byte[3_000];
        new Random(5).nextBytes(large);
        new Random(6).nextBytes(small);
        tier.put(key(1), large);
        tier.put(key(2), small);
        List<byte[]> seen = new ArrayList<>();
        Runnable reads = () -> {
            try {
                for (String k : List.of(key(1), key(2), key(1))) {
                    seen.add(tier.read(k, object -> object.toArray(ValueLayout.JAVA_BYTE)));
                }
            } catch (IntegrityFailure impossible) {
                throw new IllegalStateException(impossible);
            }
        };
        Thread reader = virtualThread ? Thread.ofVirtual().start(reads) : Thread.ofPlatform().start(reads);
        reader.join();
        assertThat(seen).hasSize(3);
        assertThat(seen.get(0)).isEqualTo(large);
        assertThat(seen.get(1)).isEqualTo(small);
        assertThat(seen.get(2)).isEqualTo(large);
    }

    @Test
    void reopeningDropsLeftoverTempFilesAndRebuildsTheIndex() throws Exception {
        DiskTier tier = open(1000);
        tier.put(key(1), new byte[100]);
        tier.put("m/abcdef", new byte[50]);
        Files.write(root.resolve("tmp/put-123.tmp"), new byte[70]);
        DiskTier reopened = open(1000);
        assertThat(TestSupport.files(root.resolve("tmp"))).isEmpty();
        assertThat(reopened.get(key(1))).hasSize(100);
        assertThat(reopened.exists("m/abcdef")).isTrue();
        assertThat(reopened.storedBytes()).isEqualTo(150);
    }

    @Test
    void evictsLeastRecentlyUsedChunksButNeverPinnedOnesOrManifests() {
        DiskTier tier = open(300);
        tier.put("m/aaaa", new byte[100]);
        tier.put(key(1), new byte[100]);
        tier.put(key(2), new byte[100]);
        tier.get(key(1));
        tier.put(key(3), new byte[100]);
        assertThat(tier.exists(key(2))).as("least recently used").isFalse();
        assertThat(tier.exists(key(1))).isTrue();
        assertThat(tier.exists("m/aaaa")).isTrue();
        pinned.add(key(1));
        pinned.add(key(3));
        assertThatThrownBy(() -> tier.put(key(4), new byte[100])).isInstanceOf(StoreException.Full.class)
                .hasMessageContaining("disk tier full");
        assertThat(tier.storedBytes()).isEqualTo(300);
        assertThat(TestSupport.files(root.resolve("tmp"))).isEmpty();
    }
}
