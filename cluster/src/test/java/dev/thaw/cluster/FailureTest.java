package dev.thaw.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What etcd's failures do to the handles: each test has an etcd of its own, to kill, stop or pause. */
class FailureTest {
    private LocalEtcd etcd;
    private Fixtures f;

    @BeforeEach
    void start() {
        etcd = LocalEtcd.start();
        f = new Fixtures(etcd.clientEndpoint());
    }

    @AfterEach
    void stop() {
        try {
            f.close();
        } finally {
            etcd.close();
        }
    }

    @Test
    void etcdKilledAndRestartedUnderLoadLosesNoAcknowledgedDeployAndEveryoneRecovers() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        EtcdCoordination watcher = f.connect("w");
        a.membership().join(Fixtures.member("a"));
        b.membership().join(Fixtures.member("b"));
        List<Long> seenVersions = new CopyOnWriteArrayList<>();
        watcher.registry().subscribe(e -> {
            if (e instanceof FunctionEvent.Deployed d && d.name().equals("busy")) {
                seenVersions.add(d.function().version());
            }
        });

        AtomicBoolean running = new AtomicBoolean(true);
        Map<Long, String> acknowledged = new ConcurrentHashMap<>();
        AtomicInteger unavailable = new AtomicInteger();
        AtomicLong slowestFailureNanos = new AtomicLong();
        AtomicInteger lastLoad = new AtomicInteger();
        List<Thread> load = new ArrayList<>();
        for (EtcdCoordination node : List.of(a, b)) {
            load.add(Thread.ofPlatform().name("deployer-" + node.config().nodeId()).start(() -> {
                for (int i = 0; running.get(); i++) {
                    String hash = node.config().nodeId() + "-" + i;
                    long t0 = System.nanoTime();
                    try {
                        acknowledged.put(node.registry().deploy(Fixtures.deployment("busy", hash)).version(), hash);
                    } catch (ClusterException.Unavailable e) {
                        unavailable.incrementAndGet();
                        slowestFailureNanos.accumulateAndGet(System.nanoTime() - t0, Math::max);
                        sleep(20);
                    }
                }
            }));
        }
        load.add(Thread.ofPlatform().name("updater").start(() -> {
            for (int i = 1; running.get(); i++) {
                int l = i;
                a.membership().update(m -> m.withLoad(l));
                lastLoad.set(l);
                sleep(10);
            }
        }));

        Thread.sleep(1000);
        etcd.kill();                                            // SIGKILL: a crash, mid-write
        Fixtures.await("every handle notices", Duration.ofSeconds(5),
                () -> !a.connection().isConnected() && !b.connection().isConnected() && !watcher.connection().isConnected());
        Thread.sleep(1000);
        etcd.restart();                                         // same ports, same data
        Fixtures.await("every handle reconnects by itself", Duration.ofSeconds(10),
                () -> a.connection().isConnected() && b.connection().isConnected() && watcher.connection().isConnected());
        Thread.sleep(1000);                                     // load goes on after the restart
        running.set(false);
        for (Thread t : load) {
            t.join(5000);
        }

        List<FunctionVersion> history = a.registry().history("busy");
        long last = history.getLast().version();
        assertThat(history).extracting(FunctionVersion::version)
                .as("one gap-free history").containsExactlyElementsOf(LongStream.rangeClosed(1, last).boxed().toList());
        acknowledged.forEach((version, hash) -> assertThat(history.get((int) (version - 1)).codeHash())
                .as("acknowledged deploy %d is there, as acknowledged", version).isEqualTo(hash));
        assertThat(acknowledged).as("deploys before and after the crash").hasSizeGreaterThan(20);
        assertThat(unavailable.get()).as("deploys during the outage failed").isPositive();
        assertThat(TimeUnit.NANOSECONDS.toMillis(slowestFailureNanos.get()))
                .as("failures are fast: bounded by the call timeout").isLessThan(1500);

        Fixtures.await("the watcher's watch resumed and saw every version, in order", Duration.ofSeconds(5),
                () -> !seenVersions.isEmpty() && seenVersions.getLast() == last);
        assertThat(seenVersions).containsExactlyElementsOf(LongStream.rangeClosed(1, last).boxed().toList());
        Fixtures.await("the membership views recover, with a's last load", Duration.ofSeconds(5),
                () -> watcher.membership().members().size() == 2
                        && watcher.membership().member("a").orElseThrow().load() == lastLoad.get());
        assertThat(a.session.reconnects()).isPositive();
        Fixtures.await("the closed clients' threads are gone", Duration.ofSeconds(5), () -> clientThreads() <= 3 * 2);
        System.out.printf("restart under load: %d deploys acknowledged, %d failed fast during the outage (slowest %d ms)%n",
                acknowledged.size(), unavailable.get(), TimeUnit.NANOSECONDS.toMillis(slowestFailureNanos.get()));
    }

    @Test
    void whileEtcdIsDownCallsFailFastReadsFallBackCpuStaysLowAndEverythingRecovers() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.membership().join(Fixtures.member("a"));
        FunctionVersion v1 = a.registry().deploy(Fixtures.deployment("fn", "h1"));
        a.catalog().publish(new SnapshotEntry("fn", 1, "fn@1", "m/fn@1", 1, "eager", "a", java.time.Instant.now()));
        Fixtures.await("b's view is complete", Duration.ofSeconds(5),
                () -> b.membership().member("a").isPresent() && b.view.snapshots.size() == 1 && b.view.functions.size() == 1);
        List<ConnectionState> states = new CopyOnWriteArrayList<>();
        a.onConnectionChange(states::add);

        etcd.stop();
        Fixtures.await("a notices", Duration.ofSeconds(5), () -> !a.connection().isConnected());
        Fixtures.await("b notices", Duration.ofSeconds(5), () -> !b.connection().isConnected());
        assertThat(a.connection().status()).isEqualTo(ConnectionState.Status.DISCONNECTED);
        assertThat(a.connection().reason()).isNotBlank();

        long t0 = System.nanoTime();
        assertThatThrownBy(() -> a.registry().deploy(Fixtures.deployment("fn", "h2")))
                .isInstanceOf(ClusterException.Unavailable.class)
                .hasMessageContaining("deploy 'fn'").hasMessageContaining(etcd.clientEndpoint().toString())
                .hasMessageContaining("unreachable since");
        assertThatThrownBy(() -> a.catalog().claim("fn", 2)).isInstanceOf(ClusterException.Unavailable.class);
        assertThatThrownBy(() -> a.registry().history("fn")).isInstanceOf(ClusterException.Unavailable.class);
        assertThatThrownBy(() -> a.membership().updateNow(m -> m.withLoad(1))).isInstanceOf(ClusterException.Unavailable.class);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("four calls fail at once, not after a call's timeout").isLessThan(1000);
        // reads that may fall back to the last view do
        assertThat(b.registry().current("fn")).contains(v1);
        assertThat(b.registry().version("fn", 1)).contains(v1);
        assertThat(b.registry().list()).containsExactly(v1);
        assertThat(b.catalog().find("fn", 1)).isPresent();
        assertThat(b.catalog().list()).hasSize(1);
        assertThat(b.membership().members()).extracting(Member::id).contains("a");
        a.membership().update(m -> m.withLoad(42));             // kept, written on reconnection

        CpuSample cpu = CpuSample.over(Duration.ofSeconds(3));
        System.out.println("CPU with etcd down, over 3 s: " + cpu);
        assertThat(cpu.clientShare()).as("the handles' and the etcd client's threads back off instead of spinning: " + cpu)
                .isLessThan(0.02);
        assertThat(cpu.processShare()).as("the whole test JVM stays low (a spinning thread would be a core's worth): " + cpu).isLessThan(0.25);
        assertThat(a.session.clientsBuilt()).as("no gRPC client is built while nothing accepts connections").isEqualTo(1);

        etcd.restart();                                          // returns once etcd answers /health
        long back = System.nanoTime();
        Fixtures.await("a reconnects", Duration.ofSeconds(5), () -> a.connection().isConnected());
        long reconnectMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - back);
        System.out.printf("reconnected %d ms after etcd answered again (backoff at most 500 ms here)%n", reconnectMs);
        assertThat(reconnectMs).as("within the longest backoff and a call, with room for a loaded machine").isLessThan(3000);
        Fixtures.await("b reconnects", Duration.ofSeconds(5), () -> b.connection().isConnected());
        assertThat(a.registry().deploy(Fixtures.deployment("fn", "h2")).version()).isEqualTo(2);
        Fixtures.await("the update made while down reaches b", Duration.ofSeconds(5),
                () -> b.membership().member("a").map(m -> m.load() == 42).orElse(false));
        Fixtures.await("b's watch resumed", Duration.ofSeconds(5),
                () -> b.view.functions.get("fn") != null && b.view.functions.get("fn").version() == 2);
        assertThat(states).extracting(ConnectionState::status)
                .containsExactly(ConnectionState.Status.DISCONNECTED, ConnectionState.Status.CONNECTED);
    }

    @Test
    void aLeaseThatExpiresWhileEtcdIsPausedIsReplacedAndTheNodeReRegisters() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.membership().join(Fixtures.member("a"));
        Fixtures.await("b sees a", Duration.ofSeconds(5), () -> b.membership().member("a").isPresent());
        long firstLease = a.session.leaseId();

        etcd.pause();                                            // SIGSTOP: nothing answers, sockets stay open
        Thread.sleep(Fixtures.TTL.toMillis() + 1500);            // longer than the TTL: etcd expires the lease on waking
        assertThat(a.connection().isConnected()).as("a stalled keep-alive counts as a lost connection").isFalse();
        etcd.resume();

        Fixtures.await("a is connected under a new lease", Duration.ofSeconds(10),
                () -> a.connection().isConnected() && a.session.leaseId() != firstLease && a.session.leaseId() != 0);
        Fixtures.await("b sees a registered again", Duration.ofSeconds(10),
                () -> b.connection().isConnected() && b.membership().member("a").isPresent());
        Thread.sleep(Fixtures.TTL.toMillis() + 500);             // and it stays: the new lease is renewed
        assertThat(b.membership().member("a")).isPresent();
        assertThat(b.registry().deploy(Fixtures.deployment("after", "h")).version()).isEqualTo(1);
    }

    @Test
    void aLeaseRevokedBehindTheNodesBackIsReplacedAndTheNodeReRegisters() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.membership().join(Fixtures.member("a"));
        assertThat(a.catalog().claim("fn", 1)).isInstanceOf(Claim.Won.class);
        Fixtures.await("b sees a", Duration.ofSeconds(5), () -> b.membership().member("a").isPresent());
        List<MemberEvent> seen = new CopyOnWriteArrayList<>();
        b.membership().subscribe(seen::add);
        long lease = a.session.leaseId();

        long t0 = System.nanoTime();
        b.session.call("revoke a's lease", c -> c.getLeaseClient().revoke(lease));
        Fixtures.await("b sees a go and come back", Duration.ofSeconds(5),
                () -> seen.stream().anyMatch(e -> e instanceof MemberEvent.Left) && b.membership().member("a").isPresent());
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.printf("revoked lease: node re-registered after %d ms%n", ms);
        assertThat(ms).as("noticed by the watch (own record deleted), not only by the next keep-alive").isLessThan(2000);
        assertThat(a.session.leaseId()).isNotEqualTo(lease);
        assertThat(a.connection().isConnected()).isTrue();
        assertThat(b.catalog().claim("fn", 1)).as("the claim went with the lease").isInstanceOf(Claim.Won.class);
    }

    @Test
    void aWatchThatGoesSilentIsReCreatedFromItsLastRevision() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        Thread.sleep(2500);                                      // idle: progress requests are answered
        assertThat(b.view.watchdogRestarts()).as("no false alarm on an idle watch").isZero();

        List<FunctionEvent> seen = new CopyOnWriteArrayList<>();
        b.registry().subscribe(seen::add);
        b.view.simulateSilentWatchLoss();                        // no error, no completion: just silence
        a.registry().deploy(Fixtures.deployment("fn", "h1"));
        a.registry().deploy(Fixtures.deployment("fn", "h2"));
        a.membership().join(Fixtures.member("a"));
        Fixtures.await("the watchdog re-creates the watch and b catches up", Duration.ofSeconds(5),
                () -> seen.size() == 2 && b.membership().member("a").isPresent());
        assertThat(b.view.watchdogRestarts()).isEqualTo(1);
        assertThat(seen).extracting(e -> ((FunctionEvent.Deployed) e).function().version()).containsExactly(1L, 2L);
        assertThat(b.view.fullLoads()).as("resumed from its revision, not reloaded").isEqualTo(1);
    }

    @Test
    void aResumeFromACompactedRevisionReloadsAndReportsWhatChanged() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.registry().deploy(Fixtures.deployment("old", "h"));
        a.registry().deploy(Fixtures.deployment("keep", "h1"));
        a.membership().join(Fixtures.member("a"));
        Fixtures.await("b sees it all", Duration.ofSeconds(5),
                () -> b.view.functions.size() == 2 && b.membership().member("a").isPresent());
        List<Object> seen = new CopyOnWriteArrayList<>();
        b.registry().subscribe(seen::add);
        b.membership().subscribe(seen::add);
        Fixtures.await("replays", Duration.ofSeconds(5), () -> seen.size() == 3);
        seen.clear();

        b.view.simulateSilentWatchLoss();
        a.registry().delete("old");
        FunctionVersion keep2 = a.registry().deploy(Fixtures.deployment("keep", "h2"));
        FunctionVersion fresh = a.registry().deploy(Fixtures.deployment("new", "h"));
        a.membership().leave();
        long rev = a.session.call("read the revision", c -> c.getKVClient().get(Keys.bytes("/"))).getHeader().getRevision();
        a.session.call("compact", c -> c.getKVClient().compact(rev));

        Fixtures.await("b reloads after its watch finds the revision compacted", Duration.ofSeconds(6),
                () -> b.view.fullLoads() == 2 && seen.size() == 4);
        assertThat(seen).containsExactlyInAnyOrder(new FunctionEvent.Deleted("old", 1), new FunctionEvent.Deployed(keep2),
                new FunctionEvent.Deployed(fresh), new MemberEvent.Left(Fixtures.member("a")));
        assertThat(b.registry().list()).containsExactly(keep2, fresh);
    }

    @Test
    void etcdBackWithLessDataThanTheViewSawMakesTheViewReload() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        for (int i = 1; i <= 5; i++) {
            a.registry().deploy(Fixtures.deployment("lost", "h" + i));
        }
        Fixtures.await("b sees lost@5", Duration.ofSeconds(5),
                () -> b.view.functions.containsKey("lost") && b.view.functions.get("lost").version() == 5);
        List<FunctionEvent> seen = new CopyOnWriteArrayList<>();
        b.registry().subscribe(seen::add);
        Fixtures.await("replay", Duration.ofSeconds(5), () -> seen.size() == 1);

        etcd.stop();
        LocalEtcd.deleteTree(etcd.dataDir().resolve("data"));     // etcd comes back empty, at revision 1
        etcd.restart();
        Fixtures.await("both reconnect", Duration.ofSeconds(10), () -> a.connection().isConnected() && b.connection().isConnected());
        FunctionVersion fresh = a.registry().deploy(Fixtures.deployment("fresh", "h"));
        Fixtures.await("b's view follows the new etcd instead of waiting for revision " + (b.view.revision() + 1),
                Duration.ofSeconds(5), () -> b.view.functions.containsKey("fresh"));
        Fixtures.await("b's listener hears of fresh", Duration.ofSeconds(5), () -> seen.contains(new FunctionEvent.Deployed(fresh)));
        assertThat(seen).contains(new FunctionEvent.Deleted("lost", 5), new FunctionEvent.Deployed(fresh));
        assertThat(b.view.fullLoads()).isEqualTo(2);
    }

    @Test
    void aNodeThatLeavesWhileEtcdIsDownIsGoneAfterTheOutage() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.membership().join(Fixtures.member("a"));
        Fixtures.await("b sees a", Duration.ofSeconds(5), () -> b.membership().member("a").isPresent());
        etcd.stop();
        Fixtures.await("a notices", Duration.ofSeconds(5), () -> !a.connection().isConnected());
        assertThatThrownBy(() -> a.membership().leave()).isInstanceOf(ClusterException.Unavailable.class)
                .hasMessageContaining("expires within 2 s");
        assertThat(a.membership().self()).isEmpty();
        etcd.restart();
        Fixtures.await("a reconnects", Duration.ofSeconds(5), () -> a.connection().isConnected());
        Fixtures.await("a's record goes with its abandoned lease", Fixtures.TTL.plusSeconds(3),
                () -> b.connection().isConnected() && b.membership().member("a").isEmpty());
        Thread.sleep(500);
        assertThat(b.membership().member("a")).as("and is not written again").isEmpty();
        assertThat(a.catalog().claim("fn", 1)).as("a still has a lease for claims").isInstanceOf(Claim.Won.class);
    }

    @Test
    void connectFailsFastWhenNoEtcdAnswers() {
        etcd.stop();
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> f.connect("a")).isInstanceOf(ClusterException.Unavailable.class)
                .hasMessageContaining(etcd.clientEndpoint().toString());
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(3000);
    }

    /** Threads of etcd client stacks (Vert.x event loops, jetcd's pools): one client per handle may own some. */
    private static long clientThreads() {
        Map<String, Long> byKind = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("vert") || t.getName().startsWith("jetcd-"))
                .collect(java.util.stream.Collectors.groupingBy(t -> t.getName().replaceAll("-?\\d+$", ""),
                        java.util.stream.Collectors.counting()));
        System.out.println("etcd client threads: " + byKind);
        return byKind.values().stream().mapToLong(Long::longValue).sum();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
