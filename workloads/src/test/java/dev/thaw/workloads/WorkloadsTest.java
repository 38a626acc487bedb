package dev.thaw.workloads;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.Arrays;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

class WorkloadsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void listsEveryWorkloadByName() {
        assertThat(Workloads.names()).containsExactly(
                "busy-spin", "chain", "json", "image", "aes", "matmul", "template", "compression", "ml");
        assertThat(Workloads.byName("matmul").handler()).isEqualTo("dev.thaw.workloads.MatmulWorkload::handle");
        assertThat(Workloads.byName("busy-spin").handler()).isEqualTo("dev.thaw.workloads.BusySpin::handle");
        assertThatThrownBy(() -> Workloads.byName("nope"))
                .isInstanceOf(NoSuchElementException.class).hasMessageContaining("busy-spin");
    }

    @Test
    void everyEntryIsDeployable() throws Exception {
        for (Workloads.Workload w : Workloads.all()) {
            assertThat(w.name()).matches("[a-z]+(-[a-z]+)*");
            assertThat(Handler.class).isAssignableFrom(w.handlerClass());
            assertThat(Modifier.isPublic(w.handlerClass().getModifiers())).as(w.name()).isTrue();
            assertThat(w.handlerClass().getConstructor()).as(w.name() + " no-arg constructor").isNotNull();
            assertThat(w.memoryMb()).isBetween(128, 4096);
            assertThat(JSON.readTree(w.defaultPayload()).isObject()).as(w.name() + " payload").isTrue();
            assertThat(w.ports()).isNotBlank();
        }
    }

    /**
     * Invokes every workload (but chain, which needs a node) with its default payload the way the
     * runtime does: the JSON read into the handler's declared input type, the result written as JSON.
     */
    @Test
    void defaultPayloadsRunThroughJackson() throws Exception {
        for (Workloads.Workload w : Workloads.all()) {
            Type inputType = inputType(w.handlerClass());
            Object input = JSON.readValue(w.defaultPayload(), JSON.constructType(inputType));
            assertThat(input).as(w.name()).isNotNull();
            if (w.name().equals("chain")) {
                assertThat(((Chain.Input) input).remaining()).isEqualTo(2);
                continue;
            }
            Object handler = w.handlerClass().getConstructor().newInstance();
            Method handle = w.handlerClass().getMethod("handle", Object.class, InvocationContext.class);
            Object output = handle.invoke(handler, input, new FakeContext(w.name()));
            JsonNode json = JSON.readTree(JSON.writeValueAsBytes(output));
            assertThat(json.isObject()).as(w.name()).isTrue();
            assertThat(json.size()).as(w.name()).isGreaterThan(1);
        }
    }

    @Test
    void busySpinMemoryLeavesRoomForPadding() {
        assertThat(Workloads.busySpinMemoryMb(0)).isEqualTo(Workloads.byName("busy-spin").memoryMb());
        // the node gives the heap 3/4 of the limit
        assertThat(Workloads.busySpinMemoryMb(1024) * 3 / 4).isGreaterThan(1024 + 16);
    }

    private static Type inputType(Class<?> handlerClass) {
        return Arrays.stream(handlerClass.getGenericInterfaces())
                .filter(ParameterizedType.class::isInstance)
                .map(ParameterizedType.class::cast)
                .filter(p -> p.getRawType() == Handler.class)
                .findFirst()
                .orElseThrow()
                .getActualTypeArguments()[0];
    }
}
