package dev.thaw.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class RunConfigTest {
    static final String VALID = """
            name: t
            target: {url: "http://127.0.0.1:1"}
            seed: 9
            functions:
              - {name: a, jar: x.jar, handler: "A::h", payload: {k: 1}, payloadGenerator: {sizeBytes: 10}, weight: 3}
              - {name: c, jar: x.jar, handler: "C::h", chain: {length: 2, payloadBytes: 5}, cold: {evict: true}}
            load: {mode: closed, concurrency: 2, requests: 10}
            sweep: {parameter: payloadBytes, values: [1, 1024]}
            """;

    @Test
    void parsesYamlWithDefaults() {
        RunConfig c = RunConfig.parse(VALID, false, "t.yaml");
        assertThat(c.seedOrDefault()).isEqualTo(9);
        assertThat(c.target().thaw()).isTrue();
        assertThat(c.functions().get(0).weightOrDefault()).isEqualTo(3.0);
        assertThat(c.functions().get(1).warmupOrDefault()).isEqualTo(1);
        assertThat(c.load().open()).isFalse();
        assertThat(c.functions().get(0).payload().get("k").asInt()).isEqualTo(1);
    }

    @Test
    void parsesJson() {
        RunConfig c = RunConfig.parse("""
                {"target":{"url":"http://h:1","kind":"http"},"functions":[{"name":"f","path":"/x"}],
                 "load":{"arrival":{"type":"exponential","iatMs":5},"durationS":2}}""", true, "t.json");
        assertThat(c.load().open()).isTrue();
        assertThat(c.target().thaw()).isFalse();
    }

    @Test
    void chainPayloadsTravelInlineByDefaultOrThroughTheStore() {
        assertThat(RunConfig.parse(VALID, false, "t.yaml").functions().get(1).chain().viaStore()).isFalse();
        RunConfig viaStore = RunConfig.parse(VALID.replace("payloadBytes: 5}", "payloadBytes: 5, via: store}"), false, "t.yaml");
        assertThat(viaStore.functions().get(1).chain().viaStore()).isTrue();
        assertThatThrownBy(() -> RunConfig.parse(VALID.replace("payloadBytes: 5}", "payloadBytes: 5, via: carrier-pigeon}"),
                false, "t.yaml")).hasMessageContaining("functions[1].chain.via must be inline or store, got carrier-pigeon");
    }

    @Test
    void chainsNameTheirTransferInlineStoreOrXdt() {
        RunConfig xdt = RunConfig.parse(VALID.replace("payloadBytes: 5}", "payloadBytes: 5, transfer: xdt}"), false, "t.yaml");
        assertThat(xdt.functions().get(1).chain().transferOrDefault()).isEqualTo("xdt");
        assertThat(xdt.functions().get(1).chain().viaStore()).isFalse();
        RunConfig store = RunConfig.parse(VALID.replace("payloadBytes: 5}", "payloadBytes: 5, transfer: store}"), false, "t.yaml");
        assertThat(store.functions().get(1).chain().viaStore()).isTrue();
        assertThat(RunConfig.parse(VALID, false, "t.yaml").functions().get(1).chain().transferOrDefault()).isEqualTo("inline");
        assertThatThrownBy(() -> RunConfig.parse(VALID.replace("payloadBytes: 5}", "payloadBytes: 5, transfer: pigeon}"),
                false, "t.yaml")).hasMessageContaining("functions[1].chain.transfer must be inline, store or xdt, got pigeon");
        assertThatThrownBy(() -> RunConfig.parse(VALID.replace("payloadBytes: 5}", "payloadBytes: 5, via: store, transfer: xdt}"),
                false, "t.yaml")).hasMessageContaining("give transfer or via (its older name), not both");
    }

    @Test
    void functionsMayBeTakenInTurn() {
        RunConfig rotate = RunConfig.parse(VALID.replace("requests: 10}", "requests: 10, mix: rotate}"), false, "t.yaml");
        assertThat(rotate.load().rotate()).isTrue();
        assertThat(RunConfig.parse(VALID, false, "t.yaml").load().rotate()).isFalse();
        assertThatThrownBy(() -> RunConfig.parse(VALID.replace("requests: 10}", "requests: 10, mix: shuffle}"), false,
                "t.yaml")).hasMessageContaining("load.mix must be weighted or rotate, got 'shuffle'");
    }

    @Test
    void theShippedTransferScenarioIsValid() {
        RunConfig c = RunConfig.read(java.nio.file.Path.of("scenarios/chain-transfer-xdt.yaml"));
        assertThat(c.functions()).extracting(f -> f.chain().transferOrDefault()).containsExactly("inline", "store", "xdt");
        assertThat(c.sweep().values()).first().isEqualTo(1024.0);
        assertThat(c.sweep().values()).last().isEqualTo(104857600.0);
        assertThat(c.load().rotate()).isTrue();
    }

    @Test
    void aChainMaySpreadOverAClusterOnAThawTargetOnly() {
        RunConfig spread = RunConfig.parse(VALID.replace("payloadBytes: 5}", "payloadBytes: 5, spread: true}"), false, "t.yaml");
        assertThat(spread.functions().get(1).chain().spreadOrDefault()).isTrue();
        assertThat(spread.withSweepValue(1024).functions().get(1).chain().spreadOrDefault()).as("kept by a sweep").isTrue();
        assertThat(RunConfig.parse(VALID, false, "t.yaml").functions().get(1).chain().spreadOrDefault()).isFalse();
        assertThatThrownBy(() -> RunConfig.parse(VALID.replace("payloadBytes: 5}", "payloadBytes: 5, spread: true}")
                .replace("url: \"http://127.0.0.1:1\"}", "url: \"http://127.0.0.1:1\", kind: http}"), false, "t.yaml"))
                .hasMessageContaining("functions[1].chain.spread needs a thaw target");
        RunConfig shipped = RunConfig.read(java.nio.file.Path.of("scenarios/chain-transfer-xdt-cluster.yaml"));
        assertThat(shipped.functions()).allMatch(f -> f.chain().spreadOrDefault());
    }

    @Test
    void sweepValueRewritesTheParameter() {
        RunConfig c = RunConfig.parse(VALID, false, "t.yaml");
        RunConfig sub = c.withSweepValue(1024);
        assertThat(sub.functions().get(0).payloadGenerator().sizeBytes()).isEqualTo(1024);
        assertThat(sub.functions().get(1).chain().payloadBytes()).isEqualTo(1024);
        assertThat(sub.sweep()).isNull();
        assertThat(c.withOverrides("http://other:2", 5L, 7, null).target().url()).isEqualTo("http://other:2");
        assertThat(c.withOverrides(null, 5L, 7, null).load().requests()).isEqualTo(7);
    }

    @Test
    void reportsEveryProblemWithItsPath() {
        assertThatThrownBy(() -> RunConfig.parse("""
                target: {kind: lambda}
                functions:
                  - {name: "bad name", cold: {replicas: 2, evict: true}}
                load: {mode: open, arrival: {type: bursty}, requests: 5, durationS: 2}
                sweep: {parameter: colour, values: []}
                """, false, "bad.yaml"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid config bad.yaml")
                .hasMessageContaining("target.url is required")
                .hasMessageContaining("functions[0].name")
                .hasMessageContaining("target.kind must be 'thaw' or 'http'")
                .hasMessageContaining("functions[0].cold: choose replicas or evict")
                .hasMessageContaining("load: give exactly one of requests and durationS")
                .hasMessageContaining("load.arrival.burstSize")
                .hasMessageContaining("cold.evict needs load.mode: closed")
                .hasMessageContaining("sweep.parameter must be one of");
    }

    @Test
    void unknownFieldsAreRefusedByName() {
        assertThatThrownBy(() -> RunConfig.parse(VALID.replace("seed: 9", "sead: 9"), false, "t.yaml"))
                .hasMessageContaining("invalid config t.yaml").hasMessageContaining("sead");
        assertThatThrownBy(() -> RunConfig.parse("", false, "e.yaml")).hasMessageContaining("empty");
    }
}
