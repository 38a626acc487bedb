package dev.thaw.node.placement;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The placement policy over a fake cluster view. */
class PlacementTest {
    private final List<NodeState> members = new ArrayList<>();
    private final Placement placement = new Placement(new ClusterView() {
        @Override
        public String selfId() {
            return "a";
        }

        @Override
        public List<NodeState> members() {
            return members;
        }
    });

    private static NodeState node(String id, int load, Set<String> memory, Set<String> disk, Map<String, Integer> idle) {
        return new NodeState(id, URI.create("http://127.0.0.1:80" + id.charAt(0)), true, 10, load, memory, disk, idle);
    }

    private static String where(Placement.Target t) {
        return t instanceof Placement.Remote r ? r.nodeId() : "local";
    }

    @Test
    void anIdleWarmInstanceWinsOverEverythingElse() {
        members.add(node("a", 0, Set.of("f@v1"), Set.of(), Map.of()));
        members.add(node("b", 9, Set.of(), Set.of(), Map.of("f", 1)));
        assertThat(where(placement.place("f", "f@v1"))).isEqualTo("b");
        assertThat(placement.place("f", "f@v1").why()).isEqualTo("an idle warm instance");
    }

    @Test
    void theNodeTakingTheSnapshotGetsTheInvocationsThatWouldWaitForIt() {
        members.add(node("a", 0, Set.of(), Set.of(), Map.of()));
        members.add(new NodeState("b", URI.create("http://b"), true, 10, 6, Set.of("g@v1"), Set.of(), Map.of(), Set.of("f@v1")));
        members.add(node("c", 3, Set.of(), Set.of(), Map.of()));
        assertThat(where(placement.place("f@v1", "f@v1"))).as("not the least loaded: the one booting f").isEqualTo("b");
        assertThat(placement.place("f@v1", "f@v1").why()).isEqualTo("its boot taking the snapshot");
        assertThat(where(placement.place("f@v2", "f@v2"))).as("another version").isEqualTo("local");
        members.add(node("d", 9, Set.of(), Set.of(), Map.of("f@v1", 1)));
        assertThat(where(placement.place("f@v1", "f@v1"))).as("an idle warm instance still wins").isEqualTo("d");
    }

    @Test
    void aNodeItsBootFillsStillTakesTheInvocationTheBootServesButNotMore() {
        members.add(node("a", 0, Set.of(), Set.of(), Map.of()));
        members.add(new NodeState("b", URI.create("http://b"), true, 1, 1, Set.of(), Set.of(), Map.of(), Set.of("f@v1")));
        assertThat(where(placement.place("f@v1", "f@v1"))).isEqualTo("b");
        members.set(1, new NodeState("b", URI.create("http://b"), true, 1, 2, Set.of(), Set.of(), Map.of(), Set.of("f@v1")));
        assertThat(where(placement.place("f@v1", "f@v1"))).as("over its capacity").isEqualTo("local");
        members.set(1, new NodeState("b", URI.create("http://b"), false, 4, 1, Set.of(), Set.of(), Map.of(), Set.of("f@v1")));
        assertThat(where(placement.place("f@v1", "f@v1"))).as("draining").isEqualTo("local");
    }

    @Test
    void thisNodeWinsAmongEqualsToSaveTheForward() {
        members.add(node("b", 0, Set.of(), Set.of(), Map.of("f", 1)));
        members.add(node("a", 5, Set.of(), Set.of(), Map.of("f", 1)));
        assertThat(placement.place("f", "f@v1")).isInstanceOf(Placement.Local.class);
    }

    @Test
    void theSnapshotInMemoryBeatsOnDiskWhichBeatsLeastLoaded() {
        members.add(node("a", 0, Set.of(), Set.of(), Map.of()));
        members.add(node("b", 5, Set.of(), Set.of("f@v1"), Map.of()));
        members.add(node("c", 8, Set.of("f@v1"), Set.of(), Map.of()));
        assertThat(where(placement.place("f", "f@v1"))).isEqualTo("c");
        members.remove(2);
        assertThat(where(placement.place("f", "f@v1"))).isEqualTo("b");
        assertThat(placement.place("f", "f@v1").why()).isEqualTo("the snapshot in its disk tier");
        members.remove(1);
        assertThat(placement.place("f", "f@v1")).isInstanceOf(Placement.Local.class);
    }

    @Test
    void theLeastLoadedTakesTheRestAndFullOrDrainingNodesArePassedOver() {
        members.add(node("a", 7, Set.of(), Set.of(), Map.of()));
        members.add(node("b", 2, Set.of(), Set.of(), Map.of()));
        members.add(new NodeState("c", URI.create("http://c"), false, 10, 0, Set.of(), Set.of(), Map.of("f", 3)));
        members.add(node("d", 10, Set.of("f@v1"), Set.of(), Map.of()));
        assertThat(where(placement.place("f", "f@v1"))).isEqualTo("b");
        assertThat(placement.place("f", "f@v1").why()).isEqualTo("the least loaded node");
    }

    @Test
    void whenEveryNodeIsFullTheLeastLoadedStillGetsIt() {
        members.add(node("a", 12, Set.of(), Set.of(), Map.of()));
        members.add(node("b", 10, Set.of(), Set.of(), Map.of()));
        assertThat(where(placement.place("f", "f@v1"))).isEqualTo("b");
    }

    @Test
    void aLoneNodeRunsEverythingItself() {
        assertThat(placement.place("f", "f@v1")).isInstanceOf(Placement.Local.class);
        members.add(node("a", 0, Set.of(), Set.of(), Map.of()));
        assertThat(placement.place("f", "f@v1")).isInstanceOf(Placement.Local.class);
    }
}
