package dev.thaw.scaling;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RequestBufferTest {
    private final FakeTicker ticker = new FakeTicker();

    private List<String> pollAll(RequestBuffer<String> buffer) {
        List<String> out = new ArrayList<>();
        for (var w = buffer.poll(); w.isPresent(); w = buffer.poll()) {
            out.add(w.get().request());
        }
        return out;
    }

    @Test
    void requestsLeaveInTheOrderTheyCame() {
        RequestBuffer<String> buffer = RequestBuffer.create("hello", 10, ticker);
        for (String r : List.of("a", "b", "c", "d")) {
            assertThat(buffer.offer(r).admitted()).isTrue();
        }
        assertThat(buffer.offer("e")).isEqualTo(new Admission.Admitted(4));
        assertThat(pollAll(buffer)).containsExactly("a", "b", "c", "d", "e");
        assertThat(buffer.poll()).isEmpty();
    }

    @ParameterizedTest(name = "capacity {0}")
    @ValueSource(ints = {1, 3, 100})
    void beyondTheBoundRequestsAreRefusedNamingIt(int capacity) {
        RequestBuffer<String> buffer = RequestBuffer.create("hello", capacity, ticker);
        for (int i = 0; i < capacity; i++) {
            assertThat(buffer.offer("r" + i).admitted()).isTrue();
        }
        Admission refused = buffer.offer("late");
        assertThat(refused.admitted()).isFalse();
        assertThat(((Admission.Refused) refused).reason()).isEqualTo("function 'hello' has " + capacity + " request"
                + (capacity == 1 ? "" : "s") + " waiting for instances (the limit); retry later or raise its request buffer capacity");
        assertThat(buffer.size()).isEqualTo(capacity);
        assertThat(buffer.refused()).isEqualTo(1);
        buffer.poll();
        assertThat(buffer.offer("now there is room").admitted()).isTrue();
    }

    @Test
    void theRefusalNamesTheSettingToRaise() {
        RequestBuffer<String> buffer = RequestBuffer.create("resize", 0, "the node's --queue-limit", ticker);
        assertThat(buffer.offer("x")).isEqualTo(new Admission.Refused(
                "function 'resize' has 0 requests waiting for instances (the limit); retry later or raise the node's --queue-limit"));
    }

    @Test
    void aRequeuedRequestGoesFirstKeepsItsTimeAndIsNeverRefused() {
        RequestBuffer<String> buffer = RequestBuffer.create("f", 2, ticker);
        buffer.offer("first");
        ticker.advanceSeconds(5);
        buffer.offer("second");
        var taken = buffer.poll().orElseThrow();
        buffer.offer("third");
        ticker.advanceSeconds(1);
        buffer.requeue(taken.request(), taken.since()); // its instance failed to start
        assertThat(buffer.size()).isEqualTo(3);
        assertThat(buffer.oldestWait()).contains(Duration.ofSeconds(6));
        assertThat(pollAll(buffer)).containsExactly("first", "second", "third");
    }

    @Test
    void requestsThatWaitedTooLongExpireOldestFirst() {
        RequestBuffer<String> buffer = RequestBuffer.create("f", 10, ticker);
        buffer.offer("a");
        ticker.advanceSeconds(10);
        buffer.offer("b");
        ticker.advanceSeconds(10);
        buffer.offer("c");
        ticker.advanceSeconds(5);
        assertThat(buffer.expire(Duration.ofSeconds(15))).as("b has waited 15 s, not longer").containsExactly("a");
        ticker.advanceSeconds(1);
        assertThat(buffer.expire(Duration.ofSeconds(15))).containsExactly("b");
        assertThat(buffer.expire(Duration.ofSeconds(15))).isEmpty();
        assertThat(buffer.oldestWait()).contains(Duration.ofSeconds(6));
        assertThat(pollAll(buffer)).containsExactly("c");
        assertThat(buffer.oldestWait()).isEmpty();
    }

    @Test
    void removeIfAndDrainKeepTheOrder() {
        RequestBuffer<String> buffer = RequestBuffer.create("f", 10, ticker);
        for (String r : List.of("a", "gone-1", "b", "gone-2", "c")) {
            buffer.offer(r);
        }
        assertThat(buffer.removeIf(r -> r.startsWith("gone"))).isEqualTo(2);
        assertThat(buffer.drain()).containsExactly("a", "b", "c");
        assertThat(buffer.size()).isZero();
        assertThat(buffer.capacity()).isEqualTo(10);
    }

    @Test
    void badArgumentsAreNamed() {
        assertThatThrownBy(() -> RequestBuffer.create("f", -1, ticker)).hasMessage("request buffer capacity must be >= 0, got -1");
        assertThatThrownBy(() -> RequestBuffer.create(" ", 1, ticker)).hasMessage("function name must not be blank, got ' '");
        RequestBuffer<String> buffer = RequestBuffer.create("f", 1, ticker);
        assertThatThrownBy(() -> buffer.expire(Duration.ofSeconds(-1))).hasMessage("maxWait must not be negative, got -1 s");
        assertThatThrownBy(() -> buffer.offer(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void concurrentOffersNeverOvershootTheBound() throws Exception {
        RequestBuffer<Integer> buffer = RequestBuffer.create("f", 100, Ticker.system());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> admitted = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                admitted.add(pool.submit(() -> {
                    go.await();
                    int n = 0;
                    for (int i = 0; i < 10_000; i++) {
                        n += buffer.offer(i).admitted() ? 1 : 0;
                    }
                    return n;
                }));
            }
            go.countDown();
            int total = 0;
            for (Future<Integer> f : admitted) {
                total += f.get();
            }
            assertThat(total).isEqualTo(100);
            assertThat(buffer.size()).isEqualTo(100);
            assertThat(buffer.refused()).isEqualTo(40_000 - 100);
        } finally {
            pool.shutdownNow();
        }
    }
}
