package dev.thaw.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class MembershipTest extends SharedEtcd {

    @Test
    void joinUpdateLeaveAreSeenByOthersInOrder() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        List<MemberEvent> seen = new CopyOnWriteArrayList<>();
        b.membership().subscribe(seen::add);

        a.membership().join(Fixtures.member("a"));
        Fixtures.await("b sees a join", Duration.ofSeconds(5), () -> b.membership().member("a").isPresent());
        assertThat(a.membership().self()).contains(Fixtures.member("a"));

        a.membership().updateNow(m -> m.withState(MemberState.DRAINING).withLoad(3).withBooting(Set.of("hello@2")));
        Fixtures.await("b sees a draining", Duration.ofSeconds(5),
                () -> b.membership().member("a").map(m -> m.state() == MemberState.DRAINING).orElse(false));
        assertThat(b.membership().member("a").orElseThrow().load()).isEqualTo(3);
        assertThat(b.membership().member("a").orElseThrow().booting()).containsExactly("hello@2");

        a.membership().leave();
        Fixtures.await("b sees a leave", Duration.ofSeconds(5), () -> b.membership().member("a").isEmpty());
        assertThat(a.membership().self()).isEmpty();

        // the view changes before its listeners hear of it
        Fixtures.await("b's listener hears all three", Duration.ofSeconds(5), () -> seen.size() >= 3);
        assertThat(seen).hasSize(3);
        assertThat(seen.get(0)).isEqualTo(new MemberEvent.Joined(Fixtures.member("a")));
        assertThat(seen.get(1)).isInstanceOfSatisfying(MemberEvent.Updated.class,
                u -> assertThat(u.member().state()).isEqualTo(MemberState.DRAINING));
        assertThat(seen.get(2)).isInstanceOf(MemberEvent.Left.class);
    }

    @Test
    void aSubscriberIsFirstToldOfTheCurrentMembers() {
        EtcdCoordination a = f.connect("a");
        a.membership().join(Fixtures.member("a"));
        EtcdCoordination b = f.connect("b");
        b.membership().join(Fixtures.member("b"));
        Fixtures.await("b sees both", Duration.ofSeconds(5), () -> b.membership().members().size() == 2);
        List<MemberEvent> seen = new CopyOnWriteArrayList<>();
        b.membership().subscribe(seen::add);
        Fixtures.await("replay", Duration.ofSeconds(5), () -> seen.size() == 2);
        assertThat(seen).extracting(e -> e.member().id()).containsExactly("a", "b");
        assertThat(b.membership().members()).extracting(Member::id).containsExactly("a", "b");
    }

    @Test
    void updatesAreRateLimitedAndCoalescedAndTheLastOneWins() {
        EtcdCoordination a = f.connect(f.config("a").memberUpdateInterval(Duration.ofMillis(500)).build());
        EtcdCoordination b = f.connect("b");
        a.membership().join(Fixtures.member("a"));
        Fixtures.await("b sees a", Duration.ofSeconds(5), () -> b.membership().member("a").isPresent());
        List<MemberEvent> updates = new CopyOnWriteArrayList<>();
        b.membership().subscribe(e -> {
            if (e instanceof MemberEvent.Updated) {
                updates.add(e);
            }
        });
        long start = System.nanoTime();
        for (int i = 1; i <= 50; i++) {
            int load = i;
            a.membership().update(m -> m.withLoad(load).withSnapshots(Set.of("hello@" + load), Set.of()));
        }
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("update() never waits for etcd").isLessThan(200);
        Fixtures.await("b sees the last update", Duration.ofSeconds(5),
                () -> b.membership().member("a").map(m -> m.load() == 50).orElse(false));
        assertThat(b.membership().member("a").orElseThrow().memorySnapshots()).containsExactly("hello@50");
        // the view changes before its listeners hear of it (on the handle's listener thread)
        Fixtures.await("b's listener hears the last update", Duration.ofSeconds(5), () -> updates.stream()
                .anyMatch(e -> ((MemberEvent.Updated) e).member().load() == 50));
        assertThat(updates.size()).as("50 updates in a burst make at most a few writes").isBetween(1, 3);
    }

    @Test
    void aNodeThatDiesDisappearsWithinTheTtlAndOthersSeeItLeave() throws Exception {
        EtcdCoordination b = f.connect("b");
        List<MemberEvent> seen = new CopyOnWriteArrayList<>();
        b.membership().subscribe(seen::add);
        Process child = MemberProcess.start(etcd.clientEndpoint(), f.cluster, "doomed");
        try {
            Fixtures.await("b sees the child join", Duration.ofSeconds(5), () -> b.membership().member("doomed").isPresent());
            child.destroyForcibly();                             // SIGKILL: no leave, no revoke
            assertThat(child.waitFor(5, TimeUnit.SECONDS)).isTrue();
            long killed = System.nanoTime();
            Fixtures.await("b sees the child go", Fixtures.TTL.plusSeconds(3), () -> b.membership().member("doomed").isEmpty());
            long goneMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killed);
            // etcd checks expiry every 500 ms; a lease it renewed just before the kill lives a whole TTL
            // with a margin for the raft commit and the watch on a loaded machine
            assertThat(goneMs).as("gone within the TTL (+2 s of etcd's expiry sweep)").isLessThan(Fixtures.TTL.toMillis() + 2000);
            Fixtures.await("b's listener hears the child leave", Duration.ofSeconds(5), () -> seen.stream()
                    .anyMatch(e -> e instanceof MemberEvent.Left l && l.member().id().equals("doomed")));
            assertThat(seen).anySatisfy(e -> assertThat(e).isInstanceOfSatisfying(MemberEvent.Left.class,
                    l -> assertThat(l.member().id()).isEqualTo("doomed")));
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void preconditionsNameTheBadValue() {
        EtcdCoordination a = f.connect("a");
        assertThatThrownBy(() -> a.membership().join(Fixtures.member("someone-else")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'someone-else'").hasMessageContaining("'a'");
        assertThatThrownBy(() -> a.membership().update(m -> m)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("has not joined");
        a.membership().join(Fixtures.member("a"));
        assertThatThrownBy(() -> a.membership().join(Fixtures.member("a"))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already joined");
        assertThatThrownBy(() -> a.membership().update(m -> Fixtures.member("b"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("keep the id 'a'");
        assertThatThrownBy(() -> Fixtures.member("a").withLoad(-1)).hasMessageContaining("load must not be negative, got -1");
        assertThatThrownBy(() -> ClusterConfig.builder().endpoints(etcd.clientEndpoint()).nodeId("bad/id").build())
                .hasMessageContaining("'bad/id'");
        assertThatThrownBy(() -> f.config("a").leaseTtl(Duration.ofMillis(1500)).build()).hasMessageContaining("1500 ms");
    }
}
