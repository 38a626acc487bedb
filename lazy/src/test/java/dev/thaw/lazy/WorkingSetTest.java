package dev.thaw.lazy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkingSetTest {

    @Test
    void encodesAndDecodes() {
        WorkingSet ws = new WorkingSet(List.of(new WorkingSet.Run(1, 0x7f0000001000L, 3), new WorkingSet.Run(7, 0x1000, 1),
                new WorkingSet.Run(1, 0x400000, 256)));
        WorkingSet back = WorkingSet.decode(ws.encode());
        assertThat(back).isEqualTo(ws);
        assertThat(back.pages()).isEqualTo(260);
        assertThat(back.bytes()).isEqualTo(260L * 4096);
        assertThat(WorkingSet.decode(WorkingSet.empty().encode()).runs()).isEmpty();
    }

    @Test
    void rejectsWhatIsNotAnEncodedWorkingSet() {
        byte[] good = new WorkingSet(List.of(new WorkingSet.Run(1, 0x1000, 1))).encode();
        assertThatThrownBy(() -> WorkingSet.decode(new byte[] {1, 2, 3, 4, 0, 0, 0, 0}))
                .isInstanceOf(LazyPagesException.class).hasMessageContaining("magic");
        assertThatThrownBy(() -> WorkingSet.decode(Arrays.copyOf(good, good.length - 1)))
                .isInstanceOf(LazyPagesException.class).hasMessageContaining("1 runs");
        assertThatThrownBy(() -> WorkingSet.decode(new byte[2])).isInstanceOf(LazyPagesException.class);
    }

    @Test
    void runsAreCheckedAndImmutable() {
        assertThatThrownBy(() -> new WorkingSet.Run(1, 0x1001, 1)).hasMessageContaining("not page-aligned");
        assertThatThrownBy(() -> new WorkingSet.Run(1, 0x1000, 0)).hasMessageContaining("at least one page");
        assertThat(new WorkingSet.Run(1, 0x1000, 2).end()).isEqualTo(0x3000);
        assertThatThrownBy(() -> WorkingSet.empty().runs().add(new WorkingSet.Run(1, 0, 1)))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void recorderMergesAdjacentPagesOfOneTask() {
        Recorder r = new Recorder();
        r.record(1, 0x1000, 1);
        r.record(1, 0x2000, 2);
        r.record(2, 0x4000, 1);
        r.record(1, 0x4000, 1);
        r.record(1, 0x9000, 1);
        assertThat(r.snapshot().runs()).containsExactly(new WorkingSet.Run(1, 0x1000, 3), new WorkingSet.Run(2, 0x4000, 1),
                new WorkingSet.Run(1, 0x4000, 1), new WorkingSet.Run(1, 0x9000, 1));
    }

    @Test
    void inAddressOrderSortsPerTaskAndMergesAdjacentAndOverlappingRuns() {
        WorkingSet faultOrder = new WorkingSet(List.of(new WorkingSet.Run(1, 0x5000, 1), new WorkingSet.Run(2, 0x1000, 1),
                new WorkingSet.Run(1, 0x1000, 2), new WorkingSet.Run(1, 0x3000, 1), new WorkingSet.Run(1, 0x4000, 2),
                new WorkingSet.Run(1, 0x9000, 1), new WorkingSet.Run(2, 0x2000, 1), new WorkingSet.Run(1, 0x2000, 1)));
        WorkingSet sorted = faultOrder.inAddressOrder();
        assertThat(sorted.runs()).containsExactly(new WorkingSet.Run(1, 0x1000, 5), new WorkingSet.Run(1, 0x9000, 1),
                new WorkingSet.Run(2, 0x1000, 2));
        assertThat(sorted.pages()).as("pages recorded twice (0x2000, 0x5000) count once").isEqualTo(8);
        assertThat(WorkingSet.empty().inAddressOrder().runs()).isEmpty();
    }
}
