package dev.thaw.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Objects of another kind in the store's S3 tier: streamed, listed, deleted, untouched by gc. */
@ExtendWith(TestSupport.class)
class ScratchObjectsTest {
    @TempDir
    Path root;

    @Test
    void streamsObjectsInAndOutUnderTheirNamespaceAndGcLeavesThemAlone() throws Exception {
        try (SnapshotStore store = TestSupport.store(root, TestSupport.freshBucket(), 64 * 1024).build()) {
            ScratchObjects xdt = store.scratch("xdt");
            byte[] data = new byte[5 * TestSupport.MIB + 7];
            new Random(3).nextBytes(data);
            int[] attempts = {0};
            xdt.put("0001-abc", () -> {
                attempts[0]++;
                return new ByteArrayInputStream(data);
            }, data.length);
            assertThat(attempts[0]).isEqualTo(1);
            try (InputStream in = xdt.open("0001-abc").orElseThrow()) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
            assertThat(xdt.list("")).extracting(ScratchObjects.Info::key).containsExactly("0001-abc");
            assertThat(xdt.list("0001")).hasSize(1);
            assertThat(store.scratch("other").list("")).isEmpty();
            store.gc();
            assertThat(xdt.open("0001-abc")).isPresent();
            xdt.delete("0001-abc");
            assertThat(xdt.open("0001-abc")).isEmpty();
            assertThat(xdt.list("")).isEmpty();
        }
    }

    @Test
    void theStoresOwnNamespacesAreRefused() {
        try (SnapshotStore store = TestSupport.store(root, TestSupport.freshBucket(), 64 * 1024).build()) {
            for (String bad : new String[] {"c", "m", "", "Upper", "a/b"}) {
                assertThatThrownBy(() -> store.scratch(bad)).isInstanceOf(StoreException.InvalidArgument.class)
                        .hasMessageContaining("invalid scratch namespace");
            }
        }
    }
}
