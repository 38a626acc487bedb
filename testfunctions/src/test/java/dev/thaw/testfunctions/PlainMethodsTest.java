package dev.thaw.testfunctions;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PlainMethodsTest {

    private final PlainMethods methods = new PlainMethods();

    @Test
    void upperCases() {
        assertThat(methods.upper("straße")).isEqualTo("STRASSE");
        assertThat(methods.upper(null)).isNull();
    }

    @Test
    void describesSortedKeysAndMemory() {
        Map<String, Object> out = methods.describe(Map.of("zeta", 1, "alpha", 2, "mu", 3), new FakeLambdaContext("f", 256));

        assertThat(out).containsExactly(Map.entry("keys", List.of("alpha", "mu", "zeta")), Map.entry("memory", 256));
    }
}
