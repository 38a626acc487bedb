package dev.thaw.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FunctionManifestTest {

    private static FunctionManifest manifest(String name, String handler) {
        return new FunctionManifest(name, handler, null, null, null, null, null, null);
    }

    @Test
    void appliesDefaults() {
        FunctionManifest m = manifest("hello", "com.example.Hello::handle").validated();
        assertThat(m.runtime()).isEqualTo("java");
        assertThat(m.memoryMb()).isEqualTo(FunctionManifest.DEFAULT_MEMORY_MB);
        assertThat(m.timeoutMs()).isEqualTo(FunctionManifest.DEFAULT_TIMEOUT_MS);
        assertThat(m.maxInstances()).isEqualTo(FunctionManifest.DEFAULT_MAX_INSTANCES);
        assertThat(m.snapshots()).isTrue();
        assertThat(m.environment()).isEmpty();
    }

    @Test
    void customRuntimesDefaultToBootstrapAndNoSnapshots() {
        FunctionManifest m = new FunctionManifest("bash", null, "provided", null, null, null, null, null).validated();
        assertThat(m.handler()).isEqualTo("bootstrap");
        assertThat(m.snapshots()).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-starts-with-dash", "has space", "slash/inside", "x123456789012345678901234567890123456789012345678901234567890123456"})
    void rejectsBadNames(String name) {
        assertThatThrownBy(() -> manifest(name, "a.B").validated())
                .isInstanceOf(ThawException.class).hasMessageContaining("function name");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Class::", "::method", "a.b.C::m::n", "a..B", "1abc.Def"})
    void rejectsBadHandlers(String handler) {
        assertThatThrownBy(() -> manifest("f", handler).validated())
                .isInstanceOf(ThawException.class).hasMessageContaining("handler");
    }

    @Test
    void acceptsClassOnlyAndNestedClassHandlers() {
        assertThat(manifest("f", "a.b.C").validated().handler()).isEqualTo("a.b.C");
        assertThat(manifest("f", "a.b.C$Inner::run").validated().handler()).isEqualTo("a.b.C$Inner::run");
    }

    @Test
    void rejectsOutOfRangeNumbersNamingTheField() {
        assertThatThrownBy(() -> new FunctionManifest("f", "a.B", null, 64, null, null, null, null).validated())
                .hasMessageContaining("memoryMb must be between 128 and 32768, got 64");
        assertThatThrownBy(() -> new FunctionManifest("f", "a.B", null, null, 0, null, null, null).validated())
                .hasMessageContaining("timeoutMs");
        assertThatThrownBy(() -> new FunctionManifest("f", "a.B", null, null, null, null, 0, null).validated())
                .hasMessageContaining("maxInstances");
    }

    @Test
    void rejectsReservedAndMalformedEnvironmentNames() {
        assertThatThrownBy(() -> withEnv(Map.of("AWS_LAMBDA_RUNTIME_API", "x")).validated()).hasMessageContaining("reserved");
        assertThatThrownBy(() -> withEnv(Map.of("THAW_X", "x")).validated()).hasMessageContaining("reserved");
        assertThatThrownBy(() -> withEnv(Map.of("1BAD", "x")).validated()).hasMessageContaining("is invalid");
    }

    @Test
    void neverPrintsEnvironmentValues() {
        String text = withEnv(Map.of("DB_PASSWORD", "hunter2")).validated().toString();
        assertThat(text).contains("DB_PASSWORD").doesNotContain("hunter2");
    }

    @Test
    void errorBodiesRoundTripToTheirExceptions() {
        ThawException e = ErrorBody.of(ThawException.functionNotFound("x")).toException();
        assertThat(e.type()).isEqualTo(ErrorType.FunctionNotFound);
        assertThat(e.getMessage()).contains("'x'");
        FunctionErrorException f = (FunctionErrorException) ErrorBody.of(new FunctionErrorException(ErrorType.FunctionError,
                "java.lang.IllegalStateException", "boom", java.util.List.of("at A"))).toException();
        assertThat(f.functionErrorType()).isEqualTo("java.lang.IllegalStateException");
        assertThat(f.functionStackTrace()).containsExactly("at A");
        assertThat(ErrorType.FunctionTimeout.httpStatus()).isEqualTo(504);
        assertThat(ErrorType.PayloadTooLarge.httpStatus()).isEqualTo(413);
    }

    @Test
    void jsonValidation() {
        assertThat(Json.isValid("{\"a\":[1,2]}".getBytes())).isTrue();
        assertThat(Json.isValid("7".getBytes())).isTrue();
        assertThat(Json.isValid("{\"a\": ".getBytes())).isFalse();
        assertThat(Json.isValid("{} {}".getBytes())).isFalse();
        assertThat(Json.isValid(new byte[0])).isFalse();
    }

    @Test
    void primingDefaultsItsRoundsAndSurvivesTheWire() {
        var event = Json.mapper().createObjectNode().put("name", "prime");
        FunctionManifest m = manifest("f", "a.B").withPriming(new FunctionManifest.Priming(event, null)).validated();
        assertThat(m.priming().rounds()).isEqualTo(FunctionManifest.Priming.DEFAULT_PRIME_ROUNDS);
        FunctionManifest back = Json.read(Json.write(m), FunctionManifest.class, "manifest");
        assertThat(back.priming().event()).isEqualTo(event);
        assertThat(back.priming().rounds()).isEqualTo(m.priming().rounds());
        assertThat(manifest("f", "a.B").validated().priming()).isNull();
    }

    @Test
    void rejectsPrimingThatCannotRunNamingWhy() {
        var event = Json.mapper().createObjectNode();
        assertThatThrownBy(() -> manifest("f", "a.B").withPriming(new FunctionManifest.Priming(null, 3)).validated())
                .hasMessageContaining("priming needs an event");
        assertThatThrownBy(() -> manifest("f", "a.B").withPriming(new FunctionManifest.Priming(event, 0)).validated())
                .hasMessageContaining("priming.rounds must be between 1 and 10000, got 0");
        assertThatThrownBy(() -> new FunctionManifest("f", "a.B", null, null, null, null, null, false)
                .withPriming(new FunctionManifest.Priming(event, 3)).validated())
                .hasMessageContaining("snapshots turned off");
        assertThatThrownBy(() -> new FunctionManifest("f", null, "provided", null, null, null, null, null)
                .withPriming(new FunctionManifest.Priming(event, 3)).validated())
                .hasMessageContaining("java runtime");
        var huge = Json.mapper().createObjectNode().put("blob", "x".repeat(FunctionManifest.Priming.MAX_EVENT_BYTES));
        assertThatThrownBy(() -> manifest("f", "a.B").withPriming(new FunctionManifest.Priming(huge, 1)).validated())
                .hasMessageContaining("priming.event is").hasMessageContaining("payload limit");
    }

    @Test
    void neverPrintsThePrimingEvent() {
        var event = Json.mapper().createObjectNode().put("token", "hunter2");
        String text = manifest("f", "a.B").withPriming(new FunctionManifest.Priming(event, 2)).validated().toString();
        assertThat(text).contains("rounds=2").doesNotContain("hunter2");
    }

    private static FunctionManifest withEnv(Map<String, String> env) {
        return new FunctionManifest("f", "a.B", null, null, null, env, null, null);
    }

    @Test
    void mayInvokeIsSortedCheckedAndSurvivesTheWire() {
        FunctionManifest m = new FunctionManifest("a", "x.Y", null, null, null, Map.of(), null, null)
                .withMayInvoke(java.util.List.of("c", "b", "c")).validated();
        assertThat(m.mayInvoke()).containsExactly("b", "c");
        assertThat(m.mayInvoke("b")).isTrue();
        assertThat(m.mayInvoke("d")).isFalse();
        assertThat(Json.read(Json.write(m), FunctionManifest.class, "manifest").mayInvoke()).containsExactly("b", "c");
        FunctionManifest any = m.withMayInvoke(java.util.List.of("*")).validated();
        assertThat(any.mayInvoke("anything")).isTrue();
        FunctionManifest none = m.withMayInvoke(java.util.List.of()).validated();
        assertThat(none.mayInvoke()).isNull();
        assertThat(none.mayInvoke("b")).isFalse();
        assertThatThrownBy(() -> m.withMayInvoke(java.util.List.of("b/../c")).validated())
                .hasMessageContaining("mayInvoke names 'b/../c'");
    }

    @Test
    void instanceCountsOfTheScalingAreBoundedByMaxInstancesAndSaySo() {
        FunctionManifest m = new FunctionManifest("a", "x.Y", null, null, null, Map.of(), 2, null);
        assertThatThrownBy(() -> m.withScaling(new FunctionManifest.Scaling(null, null, 5, null, null)).validated())
                .hasMessage("scaling.prewarm must be between 0 and the function's maxInstances (2), got 5");
        assertThatThrownBy(() -> m.withScaling(new FunctionManifest.Scaling(3, null, null, null, null)).validated())
                .hasMessage("scaling.minInstances must be between 0 and the function's maxInstances (2), got 3");
        assertThatThrownBy(() -> m.withScaling(new FunctionManifest.Scaling(-1, null, null, null, null)).validated())
                .hasMessage("scaling.minInstances must be between 0 and the function's maxInstances (2), got -1");
        FunctionManifest.Scaling ok = m.withScaling(new FunctionManifest.Scaling(2, null, 2, null, null)).validated().scaling();
        assertThat(ok.minInstances()).isEqualTo(2);
        assertThat(ok.prewarm()).isEqualTo(2);
    }

    @Test
    void warmSnapshotAfterIsCheckedKeptThroughTheCopiesAndSurvivesTheWire() {
        FunctionManifest base = new FunctionManifest("a", "x.Y", null, null, null, Map.of(), null, null);
        assertThat(base.validated().warmSnapshotAfter()).as("the node's setting").isNull();
        FunctionManifest own = base.withWarmSnapshotAfter(200).withScaling(null).withPriming(null).withMayInvoke(null)
                .withName("b").validated();
        assertThat(own.warmSnapshotAfter()).isEqualTo(200);
        assertThat(Json.read(Json.write(own), FunctionManifest.class, "manifest").warmSnapshotAfter()).isEqualTo(200);
        assertThat(new ScalingDefaults(8, 0, 1.0).fill(own).warmSnapshotAfter()).isEqualTo(200);
        assertThat(base.withWarmSnapshotAfter(0).validated().warmSnapshotAfter()).as("never").isZero();
        assertThatThrownBy(() -> base.withWarmSnapshotAfter(-1).validated())
                .hasMessageContaining("warmSnapshotAfter must be between 0 and 100000000, got -1");
        FunctionManifest custom = new FunctionManifest("c", "bootstrap", "provided", null, null, Map.of(), null, null);
        assertThatThrownBy(() -> custom.withWarmSnapshotAfter(10).validated()).hasMessageContaining("java runtime");
        assertThat(custom.withWarmSnapshotAfter(0).validated().warmSnapshotAfter()).isZero();
        FunctionManifest noSnapshots = new FunctionManifest("d", "x.Y", null, null, null, Map.of(), null, false);
        assertThatThrownBy(() -> noSnapshots.withWarmSnapshotAfter(10).validated())
                .hasMessageContaining("snapshots turned off");
    }
}
