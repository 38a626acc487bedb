package dev.thaw.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CatalogTest extends SharedEtcd {

    private static SnapshotEntry entry(String fn, long v, String id, String by) {
        return new SnapshotEntry(fn, v, id, "m/" + id, 4096, "reap", by, Instant.parse("2026-12-05T00:00:00Z"));
    }

    @Test
    void theBootClaimIsExclusiveAndPublishingServesTheWaiters() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        EtcdCoordination c = f.connect("c");

        Claim first = a.catalog().claim("hello", 1);
        assertThat(first).isInstanceOfSatisfying(Claim.Won.class, w -> assertThat(w.claim().nodeId()).isEqualTo("a"));
        assertThat(b.catalog().claim("hello", 1)).isInstanceOfSatisfying(Claim.Busy.class,
                busy -> assertThat(busy.heldBy().nodeId()).isEqualTo("a"));
        assertThat(c.catalog().claim("hello", 1)).isInstanceOf(Claim.Busy.class);
        assertThat(b.catalog().claim("hello", 2)).as("claims are per version").isInstanceOf(Claim.Won.class);

        CompletableFuture<Optional<SnapshotEntry>> waitB = CompletableFuture.supplyAsync(() -> await(b, "hello", 1));
        CompletableFuture<Optional<SnapshotEntry>> waitC = CompletableFuture.supplyAsync(() -> await(c, "hello", 1));
        Thread.sleep(200);
        assertThat(waitB).as("still waiting while a boots").isNotDone();

        SnapshotEntry published = a.catalog().publish(entry("hello", 1, "hello@1", "a"));
        assertThat(waitB.get(5, TimeUnit.SECONDS)).contains(published);
        assertThat(waitC.get(5, TimeUnit.SECONDS)).contains(published);
        assertThat(b.catalog().claim("hello", 1)).isEqualTo(new Claim.Published(published));
        // a's view hears of the released claim through its own watch, which may come after b's and c's
        Fixtures.await("publishing released a's claim in a's view", Duration.ofSeconds(5),
                () -> !a.view.claims.containsKey(View.slot("hello", 1)));
    }

    @Test
    void publishIsCreateIfAbsentAndFindAndListSeeTheWinner() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        SnapshotEntry first = a.catalog().publish(entry("fn", 3, "fn@3-a", "a"));
        SnapshotEntry second = b.catalog().publish(entry("fn", 3, "fn@3-b", "b"));
        assertThat(first.snapshotId()).isEqualTo("fn@3-a");
        assertThat(second).as("the earlier entry stays").isEqualTo(first);
        assertThat(b.catalog().find("fn", 3)).contains(first);
        assertThat(b.catalog().find("fn", 4)).isEmpty();
        b.catalog().publish(entry("fn", 10, "fn@10", "b"));
        b.catalog().publish(entry("aa", 1, "aa@1", "b"));
        assertThat(a.catalog().list()).extracting(SnapshotEntry::snapshotId).containsExactly("aa@1", "fn@3-a", "fn@10");
    }

    @Test
    void replaceMovesTheEntryOnlyFromTheNamedSnapshotAndEveryNodeSeesIt() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        List<CatalogEvent> seen = new CopyOnWriteArrayList<>();
        b.catalog().subscribe(seen::add);
        assertThat(a.catalog().replace(entry("fn", 2, "fn@2.warmed", "a"), "fn@2")).as("no entry to replace").isFalse();
        a.catalog().publish(entry("fn", 2, "fn@2", "a"));
        assertThat(a.catalog().replace(entry("fn", 2, "fn@2.warmed", "a"), "fn@2-other"))
                .as("the entry names another snapshot").isFalse();
        assertThat(a.catalog().find("fn", 2)).map(SnapshotEntry::snapshotId).contains("fn@2");
        assertThat(a.catalog().replace(entry("fn", 2, "fn@2.warmed", "a"), "fn@2")).isTrue();
        assertThat(a.catalog().replace(entry("fn", 2, "fn@2.warmed", "a"), "fn@2")).as("already named: done").isTrue();
        assertThat(b.catalog().replace(entry("fn", 2, "fn@2.warmed-b", "b"), "fn@2")).as("moved on meanwhile").isFalse();
        assertThat(b.catalog().replace(entry("fn", 2, "fn@2.warmed", "b"), "fn@2")).as("the same id, a's").isFalse();
        assertThat(b.catalog().find("fn", 2)).map(SnapshotEntry::snapshotId).contains("fn@2.warmed");
        assertThat(b.catalog().claim("fn", 2)).as("still published").isInstanceOf(Claim.Published.class);
        Fixtures.await("b's view moves to the replacement", Duration.ofSeconds(5),
                () -> b.catalog().seen("fn", 2).map(SnapshotEntry::snapshotId).equals(Optional.of("fn@2.warmed")));
        assertThat(seen).extracting(e -> e.getClass().getSimpleName() + " " + e.entry().snapshotId())
                .containsExactly("Published fn@2", "Published fn@2.warmed");
        assertThat(b.catalog().seen("fn", 3)).isEmpty();
    }

    @Test
    void theWarmingClaimIsOneNodesAtATimeAndGoesWithItsReleaseOrItsLease() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        EtcdCoordination c = f.connect("c");
        a.catalog().publish(entry("fn", 5, "fn@5", "a"));
        assertThat(b.catalog().claimWarming("fn", 5)).as("any node may claim it, not only the one that took the snapshot")
                .isEmpty();
        assertThat(b.catalog().claimWarming("fn", 5)).as("held already: still b's").isEmpty();
        assertThat(a.catalog().claimWarming("fn", 5)).contains("b");
        assertThat(c.catalog().claimWarming("fn", 5)).contains("b");
        assertThat(a.catalog().claimWarming("fn", 6)).as("per version").isEmpty();
        assertThat(a.catalog().claim("fn", 6)).as("a boot claim is another key").isInstanceOf(Claim.Won.class);

        a.catalog().releaseWarming("fn", 5);                  // not a's: a no-op
        assertThat(c.catalog().claimWarming("fn", 5)).contains("b");
        b.catalog().releaseWarming("fn", 5);
        assertThat(c.catalog().claimWarming("fn", 5)).as("released: free at once").isEmpty();
        assertThat(b.catalog().claimWarming("fn", 5)).contains("c");

        c.close();                                            // c's lease is no longer kept alive: the claim goes with it
        Fixtures.await("c's claim gone with its lease", Fixtures.TTL.plusSeconds(3),
                () -> a.catalog().claimWarming("fn", 5).isEmpty());
        assertThat(b.catalog().claimWarming("fn", 5)).contains("a");
    }

    @Test
    void removeTakesOnlyTheNamedSnapshotAndFreesTheVersionForANewBoot() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        List<CatalogEvent> seen = new CopyOnWriteArrayList<>();
        b.catalog().subscribe(seen::add);
        a.catalog().publish(entry("fn", 1, "fn@1-old", "a"));
        assertThat(b.catalog().remove("fn", 1, "fn@1-other")).as("not the snapshot found broken").isFalse();
        assertThat(b.catalog().remove("fn", 1, "fn@1-old")).isTrue();
        assertThat(b.catalog().remove("fn", 1, "fn@1-old")).isFalse();
        assertThat(a.catalog().find("fn", 1)).isEmpty();
        assertThat(b.catalog().claim("fn", 1)).as("the next cold start boots again").isInstanceOf(Claim.Won.class);
        Fixtures.await("b hears of publish and removal", Duration.ofSeconds(5), () -> seen.size() == 2);
        assertThat(seen.get(0)).isInstanceOf(CatalogEvent.Published.class);
        assertThat(seen.get(1)).isInstanceOf(CatalogEvent.Removed.class);
    }

    @Test
    void releaseFreesTheClaimAtOnceAndTheWaiterIsTold() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        Claim.Won won = (Claim.Won) a.catalog().claim("fn", 7);
        assertThat(b.catalog().claim("fn", 7)).isInstanceOf(Claim.Busy.class);
        CompletableFuture<Optional<SnapshotEntry>> wait = CompletableFuture.supplyAsync(() -> await(b, "fn", 7));
        Thread.sleep(100);
        a.catalog().release(won.claim());
        assertThat(wait.get(5, TimeUnit.SECONDS)).as("free: claim again").isEmpty();
        assertThat(b.catalog().claim("fn", 7)).isInstanceOf(Claim.Won.class);
        a.catalog().release(won.claim());                    // no longer a's: a no-op
        assertThat(a.catalog().claim("fn", 7)).isInstanceOf(Claim.Busy.class);
    }

    @Test
    void aClaimantThatDiesFreesItsClaimWithinTheTtl() throws Exception {
        EtcdCoordination b = f.connect("b");
        Process child = MemberProcess.start(etcd.clientEndpoint(), f.cluster, "claimant", "fn", "1");
        try {
            assertThat(b.catalog().claim("fn", 1)).isInstanceOfSatisfying(Claim.Busy.class,
                    busy -> assertThat(busy.heldBy().nodeId()).isEqualTo("claimant"));
            long t0 = System.nanoTime();
            child.destroyForcibly();
            Optional<SnapshotEntry> waited = b.catalog().awaitSnapshot("fn", 1, Fixtures.TTL.plusSeconds(3));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(waited).isEmpty();
            assertThat(ms).as("freed by the lease's expiry, not by the wait's timeout").isLessThan(Fixtures.TTL.toMillis() + 2500);
            assertThat(b.catalog().claim("fn", 1)).isInstanceOf(Claim.Won.class);
        } finally {
            child.destroyForcibly();
        }
    }

    @Test
    void awaitTimesOutWhileTheClaimIsHeld() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.catalog().claim("slow", 1);
        assertThat(b.catalog().claim("slow", 1)).isInstanceOf(Claim.Busy.class);
        long t0 = System.nanoTime();
        assertThat(b.catalog().awaitSnapshot("slow", 1, Duration.ofMillis(300))).isEmpty();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(250L, 2000L);
    }

    @Test
    void theClaimantSeesWhoWaitsForItsSnapshotUntilTheWaitEnds() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        assertThat(a.catalog().claim("waited", 1)).isInstanceOf(Claim.Won.class);
        assertThat(a.catalog().awaitedByOthers("waited", 1)).as("claimed, nobody waits yet").isFalse();
        assertThat(b.catalog().claim("waited", 1)).isInstanceOf(Claim.Busy.class);
        CompletableFuture<Optional<SnapshotEntry>> wait = CompletableFuture.supplyAsync(() -> await(b, "waited", 1));
        Fixtures.await("a sees b waiting", Duration.ofSeconds(5), () -> a.catalog().awaitedByOthers("waited", 1));
        assertThat(b.catalog().awaitedByOthers("waited", 1)).as("a node's own wait is not another's").isFalse();
        assertThat(a.catalog().awaitedByOthers("waited", 2)).as("waits are per version").isFalse();

        SnapshotEntry published = a.catalog().publish(entry("waited", 1, "waited@1", "a"));
        assertThat(wait.get(5, TimeUnit.SECONDS)).contains(published);
        Fixtures.await("the wait's end withdraws it", Duration.ofSeconds(5), () -> !a.catalog().awaitedByOthers("waited", 1));

        a.catalog().claim("waited", 2);
        assertThat(b.catalog().claim("waited", 2)).isInstanceOf(Claim.Busy.class);
        CompletableFuture<Optional<SnapshotEntry>> timesOut =
                CompletableFuture.supplyAsync(() -> await(b, "waited", 2, Duration.ofMillis(1500)));
        Fixtures.await("a sees b waiting for version 2", Duration.ofSeconds(5), () -> a.catalog().awaitedByOthers("waited", 2));
        assertThat(timesOut.get(5, TimeUnit.SECONDS)).isEmpty();
        Fixtures.await("a wait that timed out is withdrawn too", Duration.ofSeconds(5),
                () -> !a.catalog().awaitedByOthers("waited", 2) && a.view.awaiting.isEmpty());
    }

    @Test
    void aNodesWaitThatEndsEarlyLeavesItsOtherWaitForTheSameSnapshotAnnounced() throws Exception {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.catalog().claim("twice", 1);
        assertThat(b.catalog().claim("twice", 1)).isInstanceOf(Claim.Busy.class);
        CompletableFuture<Optional<SnapshotEntry>> shortWait =
                CompletableFuture.supplyAsync(() -> await(b, "twice", 1, Duration.ofMillis(1500)));
        CompletableFuture<Optional<SnapshotEntry>> longWait = CompletableFuture.supplyAsync(() -> await(b, "twice", 1));
        Fixtures.await("a sees b waiting", Duration.ofSeconds(5), () -> a.catalog().awaitedByOthers("twice", 1));
        assertThat(shortWait.get(5, TimeUnit.SECONDS)).as("the short wait timed out").isEmpty();
        assertThat(longWait).as("the long wait goes on").isNotDone();
        Thread.sleep(300); // long enough for a withdrawal to reach a's view
        assertThat(a.catalog().awaitedByOthers("twice", 1)).as("b still waits").isTrue();

        SnapshotEntry published = a.catalog().publish(entry("twice", 1, "twice@1", "a"));
        assertThat(longWait.get(5, TimeUnit.SECONDS)).contains(published);
        Fixtures.await("the last wait's end withdraws it", Duration.ofSeconds(5),
                () -> !a.catalog().awaitedByOthers("twice", 1) && a.view.awaiting.isEmpty());
    }

    @Test
    void cachedByComesFromTheMembersRecords() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.membership().join(Fixtures.member("a").withSnapshots(Set.of("hello@1"), Set.of()));
        b.membership().join(Fixtures.member("b").withSnapshots(Set.of(), Set.of("hello@1", "other@2")));
        Fixtures.await("both joined", Duration.ofSeconds(5), () -> a.membership().members().size() == 2);
        assertThat(a.catalog().cachedBy("hello@1")).extracting(Member::id).containsExactly("a", "b");
        assertThat(a.catalog().cachedBy("other@2")).extracting(Member::id).containsExactly("b");
        assertThat(a.catalog().cachedBy("none@1")).isEmpty();
    }

    private static Optional<SnapshotEntry> await(Coordination c, String fn, long v) {
        return await(c, fn, v, Duration.ofSeconds(5));
    }

    private static Optional<SnapshotEntry> await(Coordination c, String fn, long v, Duration timeout) {
        try {
            return c.catalog().awaitSnapshot(fn, v, timeout);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
