package dev.thaw.node.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.cluster.ClusterException;
import dev.thaw.cluster.EventLedger;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A cluster node's events: in its files and in the ledger, or refused; reconciled when it joins. */
class LedgeredEventQueueTest {
    @TempDir
    Path dir;

    /** An in-memory ledger of one node, which can be made unreachable. */
    static final class FakeLedger implements EventLedger {
        final Map<String, byte[]> entries = new TreeMap<>();
        boolean down;

        private void check() {
            if (down) {
                throw new ClusterException.Unavailable("etcd is down (fake)", null);
            }
        }

        @Override
        public void record(String requestId, byte[] event) {
            check();
            entries.put(requestId, event);
        }

        @Override
        public void forget(String requestId) {
            check();
            entries.remove(requestId);
        }

        @Override
        public Map<String, byte[]> recorded() {
            check();
            return Map.copyOf(entries);
        }

        @Override
        public Set<String> owners() {
            return new TreeSet<>(Set.of("me"));
        }

        @Override
        public Map<String, byte[]> adopt(String from) {
            return Map.of();
        }
    }

    private static QueuedEvent event(String id) {
        return QueuedEvent.of(id, "fn", Optional.empty(), "{}".getBytes(StandardCharsets.UTF_8), Instant.EPOCH);
    }

    private LedgeredEventQueue queue() throws IOException {
        return new LedgeredEventQueue(EventQueue.files(dir.resolve("events")), dir.resolve("events"), Duration.ofMillis(50));
    }

    private Set<String> filed() throws IOException {
        Set<String> ids = new TreeSet<>();
        EventQueue.files(dir.resolve("events")).pending().forEach(e -> ids.add(e.requestId()));
        return ids;
    }

    @Test
    void aNewEventIsInTheFilesAndTheLedgerOrRefusedAndInNeither() throws Exception {
        FakeLedger ledger = new FakeLedger();
        LedgeredEventQueue q = queue();
        q.attach(ledger, "c");
        q.add(event("a"));
        assertThat(ledger.entries).containsOnlyKeys("a");
        assertThat(LedgeredEventQueue.event(ledger.entries.get("a")).requestId()).isEqualTo("a");
        ledger.down = true;
        assertThatThrownBy(() -> q.add(event("b"))).isInstanceOf(LedgeredEventQueue.NotRecorded.class).hasMessageContaining("not accepted");
        assertThat(filed()).containsExactly("a");
        q.add(event("a").failed("boom", Instant.EPOCH)); // a later attempt's state: kept here, the ledger catches up later
        assertThat(filed()).containsExactly("a");
    }

    @Test
    void anEndedEventLeavesTheLedgerEvenWhenEtcdWasAwayAtTheTime() throws Exception {
        FakeLedger ledger = new FakeLedger();
        LedgeredEventQueue q = queue();
        q.attach(ledger, "c");
        q.add(event("a"));
        q.add(event("b"));
        ledger.down = true;
        q.remove(event("a"));
        assertThat(ledger.entries).containsKey("a");
        ledger.down = false;
        q.add(event("c"));
        assertThat(ledger.entries).containsOnlyKeys("b", "c");
        q.deadLetter(new DeadLetter(event("b"), Instant.EPOCH, "failed"));
        assertThat(ledger.entries).containsOnlyKeys("c");
    }

    @Test
    void beforeTheNodeJoinedANewEventWaitsThenIsRefused() throws Exception {
        LedgeredEventQueue q = queue();
        assertThatThrownBy(() -> q.add(event("a"))).isInstanceOf(LedgeredEventQueue.NotRecorded.class)
                .hasMessageContaining("has not joined its cluster yet");
        assertThat(filed()).isEmpty();
    }

    @Test
    void theFirstJoinRecordsWhatTheFilesHeldAndARejoinDropsWhatOthersTookAndTakesWhatTheLedgerHas() throws Exception {
        EventQueue.files(dir.resolve("events")).add(event("before-the-cluster"));
        FakeLedger ledger = new FakeLedger();
        LedgeredEventQueue first = queue();
        assertThat(first.attach(ledger, "c")).isEqualTo(new LedgeredEventQueue.Reconciled(1, 0, 0));
        assertThat(ledger.entries).containsOnlyKeys("before-the-cluster");
        first.add(event("x"));
        // while the node was away: another node took both over, and one more event was recorded under its id
        ledger.entries.clear();
        ledger.entries.put("only-in-ledger", dev.thaw.node.event.FileEventQueue.encode(event("only-in-ledger")));
        LedgeredEventQueue again = queue();
        assertThat(again.attach(ledger, "c")).isEqualTo(new LedgeredEventQueue.Reconciled(0, 1, 2));
        assertThat(filed()).containsExactly("only-in-ledger");
    }
}
