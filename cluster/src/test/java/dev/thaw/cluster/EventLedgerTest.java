package dev.thaw.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class EventLedgerTest extends SharedEtcd {

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void eachNodeRecordsAndForgetsItsOwnEvents() {
        EtcdCoordination a = f.connect("a");
        EtcdCoordination b = f.connect("b");
        a.events().record("e-1", bytes("one"));
        a.events().record("e-2", bytes("two"));
        a.events().record("e-2", bytes("two, attempt 2"));
        b.events().record("e-3", bytes("three"));
        assertThat(a.events().recorded()).containsOnlyKeys("e-1", "e-2");
        assertThat(new String(a.events().recorded().get("e-2"), StandardCharsets.UTF_8)).isEqualTo("two, attempt 2");
        assertThat(b.events().owners()).containsExactly("a", "b");
        a.events().forget("e-1");
        assertThat(a.events().recorded()).containsOnlyKeys("e-2");
        assertThat(b.view.functions).as("events stay out of the watched view").isEmpty();
    }

    @Test
    void aLeftNodesEventsGoEachToExactlyOneAdopter() throws Exception {
        EtcdCoordination gone = f.connect("gone");
        for (int i = 0; i < 40; i++) {
            gone.events().record("ev-" + i, bytes("payload " + i));
        }
        gone.close();
        List<EtcdCoordination> adopters = List.of(f.connect("x"), f.connect("y"), f.connect("z"));
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<Map<String, byte[]>>> got = new ArrayList<>();
        for (EtcdCoordination c : adopters) {
            got.add(pool.submit((Callable<Map<String, byte[]>>) () -> c.events().adopt("gone")));
        }
        List<String> all = new ArrayList<>();
        for (int i = 0; i < got.size(); i++) {
            Map<String, byte[]> mine = got.get(i).get();
            all.addAll(mine.keySet());
            assertThat(adopters.get(i).events().recorded()).as("adopted events are the adopter's now")
                    .containsOnlyKeys(mine.keySet());
        }
        pool.shutdown();
        assertThat(all).hasSize(40).doesNotHaveDuplicates();
        assertThat(adopters.getFirst().events().owners()).doesNotContain("gone");
        assertThat(adopters.getFirst().events().adopt("gone")).as("nothing left to adopt").isEmpty();
    }

    @Test
    void badIdsAreRefused() {
        EtcdCoordination a = f.connect("a");
        assertThatThrownBy(() -> a.events().record("../members/a", bytes("x"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("request id");
        assertThatThrownBy(() -> a.events().adopt("a")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.events().adopt("../x")).isInstanceOf(IllegalArgumentException.class);
    }
}
