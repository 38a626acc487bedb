package dev.thaw.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Every handler shape resolves and adapts JSON in and out; every bad handler name says what is wrong. */
class HandlerLoaderTest {
    private final HandlerLoader loader = new HandlerLoader(Mappers.create());
    private final RuntimeContext ctx = new RuntimeContext(
            new RuntimeConfig("127.0.0.1:1", "x", "fn", "3", 256, List.of(), false, "", 10_000, 0, 30_000), "req-1", "arn", Long.MAX_VALUE);

    public record Point(int x, int y) {
    }

    public static class ThawShape implements Handler<Point, Map<String, Object>> {
        @Override
        public Map<String, Object> handle(Point p, InvocationContext c) {
            return new java.util.TreeMap<>(Map.of("sum", p.x() + p.y(), "fn", c.getFunctionName()));
        }
    }

    public static class LambdaShape implements RequestHandler<List<Integer>, Integer> {
        @Override
        public Integer handleRequest(List<Integer> in, Context c) {
            return in.stream().mapToInt(Integer::intValue).sum();
        }
    }

    public static class StreamShape implements RequestStreamHandler {
        @Override
        public void handleRequest(InputStream in, OutputStream out, Context c) throws java.io.IOException {
            out.write(("[" + new String(in.readAllBytes(), StandardCharsets.UTF_8) + "]").getBytes(StandardCharsets.UTF_8));
        }
    }

    public static class FunctionShape implements Function<String, String> {
        @Override
        public String apply(String s) {
            return s.toUpperCase(java.util.Locale.ROOT);
        }
    }

    public static class Plain {
        public Point mirror(Point p) {
            return new Point(p.y(), p.x());
        }

        public int memory(Map<String, Object> in, Context c) {
            return c.getMemoryLimitInMB();
        }

        public void nothing() {
        }

        public String over(String a) {
            return a;
        }

        public String over(Integer a) {
            return "" + a;
        }
    }

    public static class OnlyOne {
        public String only(String s) {
            return s + "!";
        }
    }

    public static class NullAware {
        public String echo(String s) {
            return s == null ? "was null" : s;
        }
    }

    public static class FailsInit {
        public FailsInit() {
            throw new IllegalStateException("no database");
        }

        public String handle(String s) {
            return s;
        }
    }

    @Test
    void everyShapeAdaptsJsonInAndOut() throws Throwable {
        assertThat(run(name(ThawShape.class), "{\"x\":1,\"y\":2}")).isEqualTo("{\"fn\":\"fn\",\"sum\":3}");
        assertThat(run(name(LambdaShape.class), "[1,2,3]")).isEqualTo("6");
        assertThat(run(name(StreamShape.class), "{\"raw\":true}")).isEqualTo("[{\"raw\":true}]");
        assertThat(run(name(FunctionShape.class), "\"abc\"")).isEqualTo("\"ABC\"");
        assertThat(run(name(Plain.class) + "::mirror", "{\"x\":1,\"y\":2}")).isEqualTo("{\"x\":2,\"y\":1}");
        assertThat(run(name(Plain.class) + "::memory", "{}")).isEqualTo("256");
        assertThat(run(name(Plain.class) + "::nothing", "")).isEqualTo("null");
        assertThat(run(name(OnlyOne.class), "\"hi\"")).isEqualTo("\"hi!\"");
    }

    @Test
    void explicitMethodOnAnInterfaceShapeWorksToo() throws Throwable {
        assertThat(run(name(LambdaShape.class) + "::handleRequest", "[5]")).isEqualTo("5");
        assertThat(run(name(FunctionShape.class) + "::apply", "\"q\"")).isEqualTo("\"Q\"");
    }

    @Test
    void anEmptyEventIsNull() throws Throwable {
        assertThat(run(name(NullAware.class), "")).isEqualTo("\"was null\"");
    }

    @Test
    void badEventsNameTheExpectedType() {
        assertThatThrownBy(() -> run(name(ThawShape.class), "{\"x\":\"not a number\"}"))
                .isInstanceOf(HandlerLoader.EventFormatException.class)
                .hasMessageContaining("cannot be read as");
    }

    @Test
    void missingClassMissingMethodAmbiguityAndFailingInitAreClear() {
        assertThatThrownBy(() -> loader.load("com.example.Nope::x", getClass().getClassLoader()))
                .isInstanceOf(InitException.class).hasMessageContaining("handler class 'com.example.Nope' was not found")
                .satisfies(e -> assertThat(((InitException) e).errorType()).isEqualTo("Runtime.HandlerNotFound"));
        assertThatThrownBy(() -> loader.load(name(Plain.class) + "::absent", getClass().getClassLoader()))
                .isInstanceOf(InitException.class).hasMessageContaining("handler method 'absent' was not found");
        assertThatThrownBy(() -> loader.load(name(Plain.class) + "::over", getClass().getClassLoader()))
                .isInstanceOf(InitException.class).hasMessageContaining("ambiguous");
        assertThatThrownBy(() -> loader.load(name(Plain.class), getClass().getClassLoader()))
                .isInstanceOf(InitException.class).hasMessageContaining("name one as");
        assertThatThrownBy(() -> loader.load(name(FailsInit.class) + "::handle", getClass().getClassLoader()))
                .isInstanceOf(InitException.class).hasMessage("no database")
                .satisfies(e -> assertThat(((InitException) e).errorType()).isEqualTo("java.lang.IllegalStateException"));
    }

    @Test
    void functionClassLoaderSharesTheApiPackagesButLoadsTheRestChildFirst() throws Exception {
        // a library the function brings (here: AssertJ's JAR) is its own copy, even when the parent has one
        Path library = Path.of(org.assertj.core.api.Assertions.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        try (FunctionClassLoader fcl = new FunctionClassLoader(new java.net.URL[] {library.toUri().toURL()},
                HandlerLoaderTest.class.getClassLoader())) {
            assertThat(fcl.loadClass(org.assertj.core.api.Assertions.class.getName()))
                    .isNotSameAs(org.assertj.core.api.Assertions.class);
            assertThat(fcl.loadClass(Handler.class.getName())).isSameAs(Handler.class);
            assertThat(fcl.loadClass(Context.class.getName())).isSameAs(Context.class);
        }
    }

    private String run(String handler, String event) throws Throwable {
        FunctionInvoker invoker = loader.load(handler, getClass().getClassLoader());
        return new String(invoker.invoke(event.getBytes(StandardCharsets.UTF_8), ctx), StandardCharsets.UTF_8);
    }

    private static String name(Class<?> c) {
        return c.getName();
    }
}
