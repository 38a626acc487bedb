package dev.thaw.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The warm-up's conversions read made-up events of the handler's declared type and write made-up
 * results of its declared result type, through the reader and writer invocations use, and never call
 * the handler.
 */
class ConversionsTest {
    private final ObjectMapper mapper = Mappers.create();
    private final HandlerLoader loader = new HandlerLoader(mapper);

    public enum Status { OPEN, @JsonProperty("shipped") SHIPPED }

    public record Line(String sku, int quantity, double price) {
    }

    public record Order(String id, @JsonProperty("customer_name") String customer, Status status, Instant placed,
                        List<Line> lines, Map<Integer, String> notes, Set<Status> flags) {
    }

    public static class Bean {
        private String title;
        private Line first;

        public String getTitle() {
            return title;
        }

        public void setTitle(String title) {
            this.title = title;
        }

        public Line getFirst() {
            return first;
        }

        public void setFirst(Line first) {
            this.first = first;
        }
    }

    /** Counts its calls: the conversions must never make one. */
    public static class Counting implements RequestHandler<Order, Bean> {
        static final AtomicInteger CALLS = new AtomicInteger();

        @Override
        public Bean handleRequest(Order order, Context context) {
            CALLS.incrementAndGet();
            return new Bean();
        }
    }

    public static class Untyped implements Function<Map<String, Object>, Map<String, Object>> {
        @Override
        public Map<String, Object> apply(Map<String, Object> in) {
            throw new AssertionError("the handler was called");
        }
    }

    public static class Streams implements RequestStreamHandler {
        @Override
        public void handleRequest(InputStream in, OutputStream out, Context c) {
            throw new AssertionError("the handler was called");
        }
    }

    public record Refusing(String value) {
        public Refusing {
            throw new IllegalArgumentException("never built");
        }
    }

    public interface Opaque {
        String value();
    }

    public static class Impossible {
        public Opaque handle(Refusing in) {
            throw new AssertionError("the handler was called");
        }
    }

    public static class Tree {
        public void handle(JsonNode in) {
            throw new AssertionError("the handler was called");
        }
    }

    public static class Shapes {
        static final AtomicInteger CALLS = new AtomicInteger();

        public static String statically(String in) {
            CALLS.incrementAndGet();
            return in;
        }

        public String nothing() {
            CALLS.incrementAndGet();
            return "x";
        }

        public String withContext(String in, Context context) {
            CALLS.incrementAndGet();
            return in;
        }

        public Object anything(Object in) {
            CALLS.incrementAndGet();
            return in;
        }

        public Object objectAndContext(Object in, Context context) {
            CALLS.incrementAndGet();
            return in;
        }

        public int primitive(int in) {
            CALLS.incrementAndGet();
            return in;
        }
    }

    @Test
    void loadingLinksTheReflectiveCallWithoutEverCallingTheHandler() throws Throwable {
        RuntimeContext ctx = new RuntimeContext(new RuntimeConfig("127.0.0.1:1", "x", "fn", "3", 256, List.of(), false, "",
                10_000, 0, 30_000), "req-1", "arn", Long.MAX_VALUE);
        FunctionInvoker[] invokers = {
            loader.load(Shapes.class.getName() + "::statically", getClass().getClassLoader()),
            loader.load(Shapes.class.getName() + "::nothing", getClass().getClassLoader()),
            loader.load(Shapes.class.getName() + "::withContext", getClass().getClassLoader()),
            loader.load(Shapes.class.getName() + "::anything", getClass().getClassLoader()),
            loader.load(Shapes.class.getName() + "::objectAndContext", getClass().getClassLoader()),
            loader.load(Shapes.class.getName() + "::primitive", getClass().getClassLoader())};
        for (FunctionInvoker invoker : invokers) {
            invoker.conversions().orElseThrow().exercise(0);
        }
        assertThat(Shapes.CALLS).hasValue(0);

        for (FunctionInvoker invoker : invokers) {
            assertThat(new String(invoker.invoke("7".getBytes(StandardCharsets.UTF_8), ctx), StandardCharsets.UTF_8))
                    .isIn("\"7\"", "7", "\"x\"");
        }
        assertThat(Shapes.CALLS).as("one call per invocation").hasValue(invokers.length);
    }

    @Test
    void madeUpEventsFillEveryPropertyUnderTheNameJacksonReads() throws Exception {
        List<JsonNode> samples = new EventSamples(mapper).of(mapper.constructType(Order.class), 3);

        assertThat(samples).hasSize(3);
        JsonNode first = samples.get(0);
        assertThat(first.fieldNames()).toIterable().containsExactlyInAnyOrder(
                "id", "customer_name", "status", "placed", "lines", "notes", "flags");
        assertThat(first.get("lines").get(0).get("sku").isTextual()).isTrue();
        assertThat(first.get("lines").get(0).get("quantity").isInt()).isTrue();
        assertThat(first.get("notes").fieldNames().next()).isEqualTo("1");
        for (JsonNode sample : samples) {
            Order order = mapper.readerFor(Order.class).readValue(sample);
            assertThat(order.customer()).isNotBlank();
            assertThat(order.placed()).isNotNull();
            assertThat(order.lines()).isNotEmpty();
        }
        Set<String> texts = new HashSet<>();
        samples.forEach(s -> texts.add(s.get("id").asText()));
        assertThat(texts).as("variants differ where the parser branches").hasSize(3);
        assertThat(samples.get(1).get("status").asText()).isEqualTo("shipped");
    }

    @Test
    void conversionsReadTheDeclaredTypeAndWriteTheResultTypeWithoutCallingTheHandler() throws Exception {
        FunctionInvoker invoker = loader.load(Counting.class.getName(), getClass().getClassLoader());
        FunctionInvoker.Conversions conversions = invoker.conversions().orElseThrow();

        Set<String> results = new HashSet<>();
        for (int round = 0; round < 50; round++) {
            results.add(new String(conversions.exercise(round), StandardCharsets.UTF_8));
        }

        assertThat(Counting.CALLS).hasValue(0);
        assertThat(results).hasSizeGreaterThan(1).allSatisfy(r -> assertThat(mapper.readTree(r).has("title")).isTrue());
    }

    public record Numbers(int count, long total, short small, byte tiny, double ratio, float share) {
    }

    @Test
    void madeUpNumbersSpanTheMagnitudesAndSignsJacksonWritesByDifferentCode() throws Exception {
        List<JsonNode> samples = new EventSamples(mapper).of(mapper.constructType(Numbers.class), 6);

        Set<Integer> intDigits = new HashSet<>();
        Set<Integer> longDigits = new HashSet<>();
        boolean negativeInt = false;
        for (JsonNode sample : samples) {
            Numbers n = mapper.readerFor(Numbers.class).readValue(sample);   // every variant fits its type
            intDigits.add(Long.toString(Math.abs((long) n.count())).length());
            longDigits.add(Long.toString(Math.abs(n.total())).length());
            negativeInt |= n.count() < 0;
        }
        assertThat(intDigits).as("below a thousand, below a million, above").contains(1, 4, 7, 10);
        assertThat(longDigits).hasSizeGreaterThanOrEqualTo(4);
        assertThat(negativeInt).isTrue();
        assertThat(samples.stream().map(s -> s.get("ratio").asDouble()).toList()).contains(1.0E-7, 6.02E23);
    }

    @Test
    void anEmptyEventIsReadOnceInAWhileWhenTheTypeReadsOne() throws Exception {
        FunctionInvoker counting = loader.load(Counting.class.getName(), getClass().getClassLoader());
        FunctionInvoker streams = loader.load(Streams.class.getName(), getClass().getClassLoader());
        FunctionInvoker refusing = loader.load(Impossible.class.getName() + "::handle", getClass().getClassLoader());

        assertThat(counting.conversions().orElseThrow().summary()).startsWith("6 made-up events and an empty one of ");
        for (int round = 0; round < 32; round++) {
            counting.conversions().orElseThrow().exercise(round);
        }
        assertThat(Counting.CALLS).hasValue(0);
        assertThat(streams.conversions()).isEmpty();
        assertThat(refusing.conversions().map(FunctionInvoker.Conversions::summary).orElse(""))
                .doesNotContain("empty");
    }

    @Test
    void freeFormEventsAreDocumentsOfEveryKind() throws Exception {
        FunctionInvoker.Conversions conversions = loader.load(Untyped.class.getName(), getClass().getClassLoader())
                .conversions().orElseThrow();

        JsonNode written = mapper.readTree(conversions.exercise(0));
        assertThat(written.isObject()).isTrue();
        List<String> kinds = new java.util.ArrayList<>();
        written.elements().forEachRemaining(v -> kinds.add(v.getNodeType().name()));
        assertThat(kinds).contains("STRING", "NUMBER", "BOOLEAN", "ARRAY");
    }

    @Test
    void resultsOfOpenDeclaredTypesAreWrittenInTheClassesHandlersReturn() {
        Map<String, Object> map = new java.util.LinkedHashMap<>(Map.of("a", 1, "b", "two"));
        Set<Class<?>> mapClasses = new HashSet<>();
        EventSamples.containerShapes(map, Map.class).forEach(v -> mapClasses.add(v.getClass()));
        assertThat(mapClasses).contains(java.util.LinkedHashMap.class, java.util.HashMap.class,
                Map.of("a", 1).getClass(), Map.of("a", 1, "b", 2).getClass());

        Set<Class<?>> listClasses = new HashSet<>();
        EventSamples.containerShapes(new java.util.ArrayList<>(List.of(1, 2, 3)), Object.class)
                .forEach(v -> listClasses.add(v.getClass()));
        assertThat(listClasses).hasSize(4);

        assertThat(EventSamples.containerShapes(new Line("a", 1, 2.0), Line.class)).hasSize(1);
        assertThat(EventSamples.containerShapes(null, Map.class)).isEmpty();
        Map<String, Object> withNull = new java.util.HashMap<>();
        withNull.put("a", null);
        assertThat(EventSamples.containerShapes(withNull, Map.class)).contains(withNull);
    }

    @Test
    void handlersOfRawBytesOrOfTypesNothingCanBeMadeOfHaveNoConversions() throws Exception {
        assertThat(loader.load(Streams.class.getName(), getClass().getClassLoader()).conversions()).isEmpty();
        assertThat(loader.load(Impossible.class.getName(), getClass().getClassLoader()).conversions()).isEmpty();
    }

    @Test
    void aVoidHandlerStillReadsItsEvents() throws Exception {
        FunctionInvoker.Conversions conversions = loader.load(Tree.class.getName(), getClass().getClassLoader())
                .conversions().orElseThrow();

        assertThat(new String(conversions.exercise(3), StandardCharsets.UTF_8)).isEqualTo("null");
    }
}
