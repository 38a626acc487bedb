package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BusySpinTest {

    /** The checksum recomputed from its definition: xorshift64 steps, then the page bytes. */
    private static long expectedChecksum(long iterations, int touchMb) {
        long x = 0x9E3779B97F4A7C15L;
        for (long i = 0; i < iterations; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
        }
        long pages = ((long) touchMb << 20) / 4096;
        long sum = 0;
        for (long p = 0; p < pages; p++) {
            sum += (p * 31 + 17) & 0xFF;
        }
        return x * 31 + sum;
    }

    @Test
    void spinsForTheServiceTimeAndTouchesMemory() {
        BusySpin.Output out = new BusySpin(0).handle(new BusySpin.Input(30, 2), null);

        assertThat(out.spunMs()).isBetween(30L, 2_000L);
        assertThat(out.touchedMb()).isEqualTo(2);
        assertThat(out.iterations()).isPositive();
        assertThat(out.checksum()).isEqualTo(expectedChecksum(out.iterations(), 2));
        assertThat(out.paddingMb()).isZero();
    }

    @Test
    void zeroServiceTimeDoesNoSpin() {
        BusySpin.Output out = new BusySpin(0).handle(new BusySpin.Input(0, 0), null);

        assertThat(out.iterations()).isZero();
        assertThat(out.checksum()).isEqualTo(0x9E3779B97F4A7C15L * 31);
    }

    @Test
    void paddingIsNonZeroPseudoRandomAndReproducible() {
        BusySpin handler = new BusySpin(1);
        byte[] padding = BusySpin.padding();

        assertThat(padding).hasSize(1 << 20);
        assertThat(IntStream.range(0, padding.length).filter(i -> padding[i] == 0).count()).isZero();
        assertThat(IntStream.range(0, 4096).map(i -> padding[i] & 0xFF).distinct().count()).isGreaterThan(250);
        assertThat(BusySpin.makePadding(1)).isEqualTo(padding);
        assertThat(handler.handle(new BusySpin.Input(0, 0), null).paddingMb()).isEqualTo(1);

        new BusySpin(0);
        assertThat(BusySpin.padding()).isEmpty();
    }

    @Test
    void readsPaddingFromTheEnvironmentValue() {
        assertThat(BusySpin.paddingMbFromEnvironment(null)).isZero();
        assertThat(BusySpin.paddingMbFromEnvironment(" ")).isZero();
        assertThat(BusySpin.paddingMbFromEnvironment(" 64 ")).isEqualTo(64);
        assertThatThrownBy(() -> BusySpin.paddingMbFromEnvironment("1g"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PADDING_MB");
    }

    @Test
    void rejectsBadInput() {
        BusySpin handler = new BusySpin(0);
        assertThatThrownBy(() -> handler.handle(null, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> handler.handle(new BusySpin.Input(-1, 0), null))
                .hasMessageContaining("serviceMs");
        assertThatThrownBy(() -> handler.handle(new BusySpin.Input(0, 5000), null))
                .hasMessageContaining("touchMb");
    }
}
