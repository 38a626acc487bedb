package dev.thaw.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class RegistryTest extends SharedEtcd {

    @Test
    void aDeployThroughOneNodeReachesAnothersWatch() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        List<FunctionEvent> seen = new CopyOnWriteArrayList<>();
        b.registry().subscribe(seen::add);

        FunctionVersion v1 = a.registry().deploy(Fixtures.deployment("hello", "sha256:1"));
        FunctionVersion v2 = a.registry().deploy(Fixtures.deployment("hello", "sha256:2"));
        assertThat(v1.version()).isEqualTo(1);
        assertThat(v2.version()).isEqualTo(2);
        assertThat(v2.deployedBy()).isEqualTo("a");
        assertThat(v2.qualifiedName()).isEqualTo("hello@2");

        Fixtures.await("b hears of both deploys", Duration.ofSeconds(5), () -> seen.size() == 2);
        assertThat(seen).containsExactly(new FunctionEvent.Deployed(v1), new FunctionEvent.Deployed(v2));
        assertThat(b.registry().current("hello")).contains(v2);
        assertThat(b.registry().version("hello", 1)).contains(v1);
        assertThat(b.registry().version("hello", 3)).isEmpty();
        assertThat(b.registry().history("hello")).containsExactly(v1, v2);
        assertThat(b.registry().list()).containsExactly(v2);
        assertThat(v1.manifest()).isEqualTo(Fixtures.deployment("hello", "x").manifest());
    }

    @Test
    void concurrentDeploysOfOneFunctionFormOneGapFreeHistory() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        int perNode = 60;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<FunctionVersion>>> results = new ArrayList<>();
            for (EtcdCoordination node : List.of(a, b, a, b)) {       // two deployers on each node
                results.add(pool.submit(() -> {
                    go.await();
                    List<FunctionVersion> mine = new ArrayList<>();
                    for (int i = 0; i < perNode / 2; i++) {
                        mine.add(node.registry().deploy(Fixtures.deployment("race", node.config().nodeId() + "-" + i)));
                    }
                    return mine;
                }));
            }
            go.countDown();
            List<FunctionVersion> acknowledged = new ArrayList<>();
            for (Future<List<FunctionVersion>> r : results) {
                acknowledged.addAll(r.get());
            }
            List<FunctionVersion> history = a.registry().history("race");
            assertThat(history).extracting(FunctionVersion::version)
                    .containsExactlyElementsOf(LongStream.rangeClosed(1, 2L * perNode).boxed().toList());
            assertThat(history).containsExactlyInAnyOrderElementsOf(acknowledged);
            assertThat(a.registry().current("race").orElseThrow().version()).isEqualTo(2L * perNode);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void deleteLeavesATombstoneSoVersionNumbersAreNeverReused() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        List<FunctionEvent> seen = new CopyOnWriteArrayList<>();
        b.registry().subscribe(seen::add);
        a.registry().deploy(Fixtures.deployment("gone", "h1"));
        a.registry().deploy(Fixtures.deployment("gone", "h2"));
        a.catalog().publish(new SnapshotEntry("gone", 2, "gone@2", "m/gone@2", 10, "eager", "a", java.time.Instant.now()));

        assertThat(b.registry().delete("gone")).isTrue();
        assertThat(b.registry().delete("gone")).isFalse();
        assertThat(b.registry().delete("never")).isFalse();
        assertThat(a.registry().current("gone")).isEmpty();
        assertThat(a.registry().history("gone")).isEmpty();
        assertThat(a.registry().version("gone", 1)).isEmpty();
        assertThat(a.registry().list()).noneMatch(v -> v.name().equals("gone"));
        assertThat(a.catalog().find("gone", 2)).as("its snapshots go with it").isEmpty();
        Fixtures.await("b hears of the delete", Duration.ofSeconds(5),
                () -> seen.contains(new FunctionEvent.Deleted("gone", 2)));

        FunctionVersion again = a.registry().deploy(Fixtures.deployment("gone", "h3"));
        assertThat(again.version()).as("numbering continues after a delete").isEqualTo(3);
        assertThat(a.registry().history("gone")).containsExactly(again);
    }

    @Test
    void aliasesAreClusterWideNameOnlyExistingVersionsAndGoWithTheirFunction() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        List<FunctionEvent> seen = new CopyOnWriteArrayList<>();
        b.registry().subscribe(seen::add);
        a.registry().deploy(Fixtures.deployment("named", "h1"));
        a.registry().deploy(Fixtures.deployment("named", "h2"));

        assertThat(a.registry().setAlias("named", "live", 1)).isEmpty();
        assertThat(b.registry().aliases("named")).containsExactly(java.util.Map.entry("live", 1L));
        assertThat(b.registry().setAlias("named", "live", 2)).as("moved, from the version it named").contains(1L);
        assertThatThrownBy(() -> a.registry().setAlias("named", "live", 9)).isInstanceOf(ClusterException.NotFound.class)
                .hasMessageContaining("no version 9");
        assertThatThrownBy(() -> a.registry().setAlias("never", "live", 1)).isInstanceOf(ClusterException.NotFound.class);
        assertThatThrownBy(() -> a.registry().setAlias("named", "123", 1)).hasMessageContaining("'123'");
        Fixtures.await("b hears of the alias and its move", Duration.ofSeconds(5), () -> seen.stream()
                .anyMatch(e -> e instanceof FunctionEvent.Aliased x && x.entry().version() == 2));
        assertThat(seen).filteredOn(e -> e instanceof FunctionEvent.Aliased).extracting(e -> ((FunctionEvent.Aliased) e).entry())
                .extracting(AliasEntry::alias, AliasEntry::version, AliasEntry::setBy)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("live", 1L, "a"), org.assertj.core.groups.Tuple.tuple("live", 2L, "b"));

        assertThat(a.registry().setAlias("named", "beta", 1)).isEmpty();
        assertThat(b.registry().deleteAlias("named", "beta")).contains(1L);
        assertThat(b.registry().deleteAlias("named", "beta")).isEmpty();
        Fixtures.await("b hears of the deleted alias", Duration.ofSeconds(5),
                () -> seen.contains(new FunctionEvent.Unaliased("named", "beta")));

        List<FunctionEvent> replayed = new CopyOnWriteArrayList<>();
        a.registry().subscribe(replayed::add);
        Fixtures.await("a new subscriber is told of the current aliases", Duration.ofSeconds(5), () -> replayed.stream()
                .anyMatch(e -> e instanceof FunctionEvent.Aliased x && x.entry().alias().equals("live")));

        assertThat(a.registry().delete("named")).isTrue();
        assertThat(a.registry().aliases("named")).as("its aliases go with it").isEmpty();
        Fixtures.await("b hears the alias go with its function", Duration.ofSeconds(5),
                () -> seen.contains(new FunctionEvent.Unaliased("named", "live")));
    }

    @Test
    void badInputIsRefusedNamingTheValue() {
        EtcdCoordination a = f.connect("a");
        assertThatThrownBy(() -> Fixtures.deployment("no/slash", "h")).hasMessageContaining("'no/slash'");
        assertThatThrownBy(() -> new Deployment("ok", "{not json", "h", 1, "k")).hasMessageContaining("not one JSON value");
        assertThatThrownBy(() -> a.registry().version("ok", 0)).hasMessageContaining("got 0");
        assertThatThrownBy(() -> a.registry().current("")).hasMessageContaining("got ''");
    }
}
