package dev.thaw.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The restore benchmark's parsing, checks of what each answer claims, and ratios. */
class RestoreRunTest {

    @Test
    void variantsParseAndNameThemselves() {
        assertThat(StoreVariant.parse("enc-512k")).isEqualTo(new StoreVariant(512, true));
        assertThat(StoreVariant.parse("PLAIN-2M")).isEqualTo(new StoreVariant(2048, false));
        assertThat(StoreVariant.parse("enc-64k").label()).isEqualTo("enc-64k");
        assertThat(new StoreVariant(2048, true).label()).isEqualTo("enc-2m");
        assertThat(StoreVariant.parse("enc-512k-nosandbox")).isEqualTo(new StoreVariant(512, true, false));
        assertThat(StoreVariant.parse("enc-512k-nosandbox").label()).isEqualTo("enc-512k-nosandbox");
        assertThat(StoreVariant.parse("enc-512k").sandbox()).isTrue();
        assertThatThrownBy(() -> StoreVariant.parse("enc-512k-sandbox")).hasMessageContaining("-nosandbox");
        assertThatThrownBy(() -> StoreVariant.parse("gzip-1k")).hasMessageContaining("enc-512k");
        assertThatThrownBy(() -> StoreVariant.parse("enc-6k")).hasMessageContaining("multiple of 4 KiB");
    }

    /** The benchmark deploys the workloads by name: handler, payload and memory must be the workloads' own. */
    @Test
    void workloadEntriesAreTheWorkloadsOwn() {
        for (String name : ExampleFunction.workloadNames()) {
            dev.thaw.workloads.Workloads.Workload w = dev.thaw.workloads.Workloads.byName(name);
            ExampleFunction f = ExampleFunction.named(name, Path.of("examples"));
            assertThat(f.handler()).as(name).isEqualTo(w.handler());
            assertThat(f.payload()).as(name).isEqualTo(w.defaultPayload());
            assertThat(f.memoryMb()).as(name).isEqualTo(w.memoryMb());
            assertThat(f.jar()).as(name).isEqualTo(Path.of("workloads/target/thaw-workloads.jar").toAbsolutePath());
        }
    }

    @Test
    void optionsRejectWhatTheyDoNotKnow() {
        List<StoreVariant> v = List.of(new StoreVariant(512, true));
        Path out = Path.of("out");
        assertThatThrownBy(() -> new RestoreBenchOptions(List.of("nope"), v, List.of("eager"), List.of("local"), 1, false,
                out, out)).hasMessageContaining("unknown function 'nope'");
        assertThatThrownBy(() -> new RestoreBenchOptions(List.of("hello"), v, List.of("fast"), List.of("local"), 1, false,
                out, out)).hasMessageContaining("unknown restore mode 'fast'");
        assertThatThrownBy(() -> new RestoreBenchOptions(List.of("hello"), v, List.of("eager"), List.of("tape"), 1, false,
                out, out)).hasMessageContaining("unknown source 'tape'");
        assertThat(new RestoreBenchOptions(List.of("hello", "matmul"), v, List.of("reap"), List.of("s3"), 1, true, out, out)
                .functions()).containsExactly("hello", "matmul");
    }

    @Test
    void anAnswerCountsOnlyWhenItCameFromWhereItWasSent() {
        assertThat(RestoreRun.asExpected(answer(StartKind.RESTORE, "eager", "local", "none"), "eager", "local")).isTrue();
        assertThat(RestoreRun.asExpected(answer(StartKind.BOOT, "eager", "local", "none"), "eager", "local")).isFalse();
        assertThat(RestoreRun.asExpected(answer(StartKind.RESTORE, "lazy", "local", "none"), "eager", "local")).isFalse();
        assertThat(RestoreRun.asExpected(answer(StartKind.RESTORE, "eager", "store", "memory=5"), "eager", "memory")).isTrue();
        // disk read, repeated chunks then hit the memory tier it refilled: still a disk restore
        assertThat(RestoreRun.asExpected(answer(StartKind.RESTORE, "eager", "store", "disk=9;memory=2"), "eager", "disk"))
                .isTrue();
        assertThat(RestoreRun.asExpected(answer(StartKind.RESTORE, "eager", "store", "disk=9;s3=1"), "eager", "disk"))
                .as("a chunk from a slower tier").isFalse();
        assertThat(RestoreRun.asExpected(answer(StartKind.RESTORE, "reap", "store", "memory=3"), "reap", "s3"))
                .as("nothing from the tier measured").isFalse();
        assertThat(RestoreRun.parseTiers("memory=1;disk=x;s3=3")).containsExactly(Map.entry("memory", 1L), Map.entry("s3", 3L));
    }

    @Test
    void ratiosAreAgainstTheBaselineOfTheSameRun() {
        List<RestoreRun.Row> base = List.of(row(100), row(110), row(90));
        RestoreRun.Summary b = RestoreRun.summarize(base, null);
        RestoreRun.Summary s = RestoreRun.summarize(List.of(row(200), row(220), row(180)), b);
        assertThat(s.medianRatio()).isCloseTo(2.0, org.assertj.core.data.Offset.offset(0.01));
        assertThat(Double.isNaN(b.medianRatio())).isTrue();
    }

    private static RestoreRun.Row row(double ms) {
        return new RestoreRun.Row("enc-512k", "hello", "eager", "memory", 1,
                new InvocationResult(200, new byte[0], "r", StartKind.RESTORE, OptionalDouble.empty(), OptionalDouble.of(ms),
                        OptionalDouble.of(1), (long) (ms * 1_000_000), OptionalLong.of(1), Map.of("Fetch-Ms", "1.5")), true);
    }

    private static InvocationResult answer(StartKind kind, String mode, String source, String bytes) {
        return new InvocationResult(200, new byte[0], "r", kind, OptionalDouble.empty(), OptionalDouble.of(1),
                OptionalDouble.of(1), 1, OptionalLong.of(1),
                Map.of("Restore-Mode", mode, "Restore-Source", source, "Fetch-Bytes", bytes));
    }
}
