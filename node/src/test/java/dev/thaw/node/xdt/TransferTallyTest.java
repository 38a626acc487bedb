package dev.thaw.node.xdt;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TransferTallyTest {
    @Test
    void reportFieldsSayCountsSizesTimesAndSources() {
        TransferTally t = new TransferTally();
        assertThat(t.isEmpty()).isTrue();
        t.put(10L << 20, 12_300_000);
        assertThat(t.reportFields()).isEqualTo("XDT Put: 1 (10.0 MB, 12.3 ms)");
        t.get(1024, 500_000, "local");
        assertThat(t.reportFields()).isEqualTo("XDT Put: 1 (10.0 MB, 12.3 ms)\tXDT Get: 1 (1.0 KB, 0.5 ms, local)");
        t.get(100, 1_000_000, "remote");
        assertThat(t.reportFields()).endsWith("XDT Get: 2 (1.1 KB, 1.5 ms, local 1, remote 1)");
    }
}
