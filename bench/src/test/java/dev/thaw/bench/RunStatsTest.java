package dev.thaw.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.thaw.core.StartKind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RunStatsTest {

    static RequestRecord rec(int seq, String fn, StartKind kind, double latency, double duration, boolean warmup) {
        return new RequestRecord(seq, null, fn, fn, warmup, 0, 0, latency, 200, kind, Double.NaN,
                kind == StartKind.RESTORE ? latency / 2 : Double.NaN, duration, null);
    }

    @Test
    void percentilesAndTailToMedianOnSyntheticNumbers() {
        List<RequestRecord> records = new ArrayList<>();
        for (int i = 1; i <= 1000; i++) {
            records.add(rec(i, "f", StartKind.WARM, i / 10.0, 0.05, false)); // 0.1 .. 100 ms
        }
        records.add(rec(0, "f", StartKind.WARM, 5000, 0, true)); // warm-up: left out
        records.add(new RequestRecord(1001, null, "f", "f", false, 0, 0, 1, 502, StartKind.UNKNOWN, Double.NaN,
                Double.NaN, Double.NaN, "FunctionError"));
        List<RunStats.Row> rows = RunStats.rows(records);
        assertThat(rows).hasSize(1);
        RunStats.Row r = rows.getFirst();
        assertThat(r.start()).isEqualTo("warm");
        assertThat(r.n()).isEqualTo(1000);
        assertThat(r.errors()).isEqualTo(1);
        assertThat(r.mean()).isCloseTo(50.05, within(0.001));
        assertThat(r.p50()).isCloseTo(50.0, within(0.1));
        assertThat(r.p90()).isCloseTo(90.0, within(0.1));
        assertThat(r.p99()).isCloseTo(99.0, within(0.1));
        assertThat(r.p999()).isCloseTo(99.9, within(0.1));
        assertThat(r.max()).isEqualTo(100.0);
        assertThat(r.tmr()).isCloseTo(1.98, within(0.01));
        assertThat(r.overheadP50()).isCloseTo(49.95, within(0.1)); // service - 0.05 ms handler
    }

    @Test
    void groupsByStartKindWithAnAllRowAndPhases() {
        List<RequestRecord> records = List.of(rec(1, "f", StartKind.WARM, 2, 1, false),
                rec(2, "f", StartKind.RESTORE, 40, 5, false), rec(3, "g", StartKind.WARM, 3, 1, false));
        assertThat(RunStats.rows(records)).extracting(r -> r.function() + "/" + r.start())
                .containsExactly("f/warm", "f/restore", "f/all", "g/warm");
        RunStats.Phase p = RunStats.phases(records).getFirst();
        assertThat(p.start()).isEqualTo("restore");
        assertThat(p.phaseMs()).isCloseTo(20, within(0.05));
        assertThat(p.restMs()).isCloseTo(15, within(0.05));
    }

    @Test
    void latencyCountsFromTheIntendedSendTime() {
        RequestRecord r = new RequestRecord(1, null, "f", "f", false, 10, 30, 45, 200, StartKind.WARM, Double.NaN,
                Double.NaN, 5, null);
        assertThat(r.latencyMs()).isEqualTo(35);
        assertThat(r.serviceMs()).isEqualTo(15);
        assertThat(r.sendDelayMs()).isEqualTo(20);
        assertThat(r.overheadMs()).isEqualTo(10);
    }
}
