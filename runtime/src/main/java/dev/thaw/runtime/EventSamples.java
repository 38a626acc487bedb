package dev.thaw.runtime;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Made-up JSON documents of a handler's declared input or output type, for the warm-up before a
 * checkpoint (FunctionInvoker.Conversions): what Jackson compiles reading and writing them is in the
 * snapshot, not in every clone's first seconds of traffic.
 *
 * <p>The shape comes from the mapper's own view of the type: a bean's or record's properties under the
 * names Jackson reads (renames included), containers with elements, scalars by kind, nested to a few
 * levels. Variants differ where a parser or writer branches: the lengths of strings and names (Jackson
 * parses names by length), ASCII against non-ASCII text, the number of elements, the magnitude and sign
 * of numbers (Jackson writes an int below a thousand, below a million and above it by different code,
 * and a branch the warm-up never took is compiled as a trap that a clone's first large number
 * springs). What the mapper cannot read
 * back as the type (an interface it has no rule for, a polymorphic base, a constructor that rejects
 * the values) is left out by the caller, which tries every variant.
 */
final class EventSamples {
    /** Deep enough for an API gateway's event (request, its context, the caller's identity). */
    private static final int MAX_DEPTH = 4;
    private static final String[] TEXTS = {"Ada", "a somewhat longer text value, as requests carry", "Grüße, Zoë"};
    private static final String[] FREE_NAMES = {"name", "id", "message", "customer_id", "a_considerably_longer_key"};
    private static final int[] INTS = {7, 1_234, 7_654_321, -42, 1_987_654_321, 0};
    private static final short[] SHORTS = {7, 1_234, -42};
    private static final long[] LONGS = {1_700_000_000_000L, 42L, -7L, 123_456_789L, 4_611_686_018_427_387_904L, 0L};
    private static final double[] DOUBLES = {19.99, 0.5, 1_234_567.25, 3.0, 1.0E-7, 6.02E23};

    private static final Map<Class<?>, String> TIME_AND_IDS = Map.ofEntries(
            Map.entry(java.util.UUID.class, "9b2f3c1e-4d5a-4b6c-8d7e-0f1a2b3c4d5e"),
            Map.entry(java.time.Instant.class, "2026-01-02T03:04:05.678Z"),
            Map.entry(java.time.OffsetDateTime.class, "2026-01-02T03:04:05.678Z"),
            Map.entry(java.time.ZonedDateTime.class, "2026-01-02T03:04:05.678Z"),
            Map.entry(java.time.LocalDateTime.class, "2026-01-02T03:04:05"),
            Map.entry(java.time.LocalDate.class, "2026-01-02"),
            Map.entry(java.time.LocalTime.class, "03:04:05"),
            Map.entry(java.time.Duration.class, "PT1.5S"),
            Map.entry(java.net.URI.class, "https://example.invalid/a/b?c=d"));

    private final ObjectMapper mapper;
    private final JsonNodeFactory nodes = JsonNodeFactory.instance;

    EventSamples(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** @return {@code variants} documents of {@code type} (some may not read back; see the class comment) */
    List<JsonNode> of(JavaType type, int variants) {
        List<JsonNode> samples = new ArrayList<>(variants);
        for (int v = 0; v < variants; v++) {
            samples.add(sample(type, v, 0));
        }
        return samples;
    }

    /**
     * A value as Jackson read it, and, when the declared type leaves the class open (a {@code Map},
     * {@code List}, {@code Set} or {@code Object}), the same content in the other classes handlers return
     * ({@code Map.of}, {@code HashMap}, {@code List.of}, {@code Arrays.asList}, ...). Written in the
     * warm-up, they keep the serializers' compiled code open to every class: compiled for Jackson's own
     * class alone, its type checks would fail on a clone's first real result and throw the compiled
     * writing path away, to be compiled again in every clone.
     *
     * @return nothing for null
     */
    static List<Object> containerShapes(Object value, Class<?> declared) {
        if (value == null) {
            return List.of();
        }
        if (!declared.isInterface() && declared != Object.class) {
            return List.of(value);
        }
        List<Object> shapes = new ArrayList<>(List.of(value));
        try {
            if (value instanceof Map<?, ?> map && !map.isEmpty()) {
                Map.Entry<?, ?> first = map.entrySet().iterator().next();
                shapes.add(Map.of(first.getKey(), first.getValue()));
                shapes.add(Map.copyOf(map));
                shapes.add(new java.util.HashMap<>(map));
            } else if (value instanceof List<?> list && !list.isEmpty()) {
                shapes.add(List.of(list.get(0)));
                shapes.add(List.copyOf(list));
                shapes.add(java.util.Arrays.asList(list.toArray()));
            } else if (value instanceof java.util.Set<?> set && !set.isEmpty()) {
                shapes.add(java.util.Set.of(set.iterator().next()));
                shapes.add(java.util.Set.copyOf(set));
                shapes.add(new java.util.LinkedHashSet<>(set));
            }
        } catch (NullPointerException e) {
            // a null key, value or element: the immutable collections take none; the other shapes do
        }
        return shapes;
    }

    private JsonNode sample(JavaType type, int variant, int depth) {
        Class<?> raw = type.getRawClass();
        if (depth > MAX_DEPTH) {
            return nodes.nullNode();
        }
        JsonNode scalar = scalar(raw, variant);
        if (scalar != null) {
            return scalar;
        }
        if (raw == Object.class || JsonNode.class.isAssignableFrom(raw)) {
            return freeForm(variant, depth);
        }
        if (raw.isEnum()) {
            Object[] constants = raw.getEnumConstants();
            return constants.length == 0 ? nodes.nullNode() : mapper.valueToTree(constants[variant % constants.length]);
        }
        if (type.isArrayType() || type.isCollectionLikeType()) {
            ArrayNode array = nodes.arrayNode();
            for (int i = 0; i < elements(variant); i++) {
                array.add(sample(type.getContentType(), variant + i, depth + 1));
            }
            return array;
        }
        if (type.isMapLikeType() && type.getContentType().getRawClass() == Object.class
                && type.getKeyType().getRawClass() == String.class) {
            return freeForm(variant, depth);    // a Map<String, Object> event is a free-form document
        }
        if (type.isMapLikeType()) {
            ObjectNode map = nodes.objectNode();
            for (int i = 0; i < elements(variant); i++) {
                map.set(key(type.getKeyType(), variant + i), sample(type.getContentType(), variant + i, depth + 1));
            }
            return map;
        }
        if (type.isReferenceType()) {   // Optional<T>, AtomicReference<T>
            return sample(type.getContentType(), variant, depth);
        }
        if (raw.isInterface() || java.lang.reflect.Modifier.isAbstract(raw.getModifiers()) || isPlatformClass(raw)) {
            return nodes.nullNode();
        }
        return bean(type, variant, depth);
    }

    private ObjectNode bean(JavaType type, int variant, int depth) {
        ObjectNode object = nodes.objectNode();
        for (BeanPropertyDefinition property : mapper.getDeserializationConfig().introspect(type).findProperties()) {
            if (property.couldDeserialize() || property.hasConstructorParameter()) {
                object.set(property.getName(), sample(property.getPrimaryType(), variant, depth + 1));
            }
        }
        return object;
    }

    /** An {@code Object} or a tree: a document of every kind, as a JSON event usually is. */
    private ObjectNode freeForm(int variant, int depth) {
        ObjectNode object = nodes.objectNode();
        object.put(FREE_NAMES[variant % FREE_NAMES.length], TEXTS[variant % TEXTS.length]);
        object.put(FREE_NAMES[(variant + 1) % FREE_NAMES.length], INTS[variant % INTS.length]);
        object.put(FREE_NAMES[(variant + 2) % FREE_NAMES.length], variant % 2 == 0);
        object.put(FREE_NAMES[(variant + 3) % FREE_NAMES.length], DOUBLES[variant % DOUBLES.length]);
        if (depth < MAX_DEPTH) {
            ArrayNode list = object.putArray(FREE_NAMES[(variant + 4) % FREE_NAMES.length]);
            list.add(TEXTS[(variant + 1) % TEXTS.length]);
            list.add(freeForm(variant + 1, depth + 2));
        }
        return object;
    }

    private JsonNode scalar(Class<?> raw, int variant) {
        if (raw == String.class || raw == CharSequence.class) {
            return nodes.textNode(TEXTS[variant % TEXTS.length]);
        }
        if (raw == char.class || raw == Character.class) {
            return nodes.textNode("x");
        }
        if (raw == boolean.class || raw == Boolean.class) {
            return nodes.booleanNode(variant % 2 == 0);
        }
        if (raw == byte.class || raw == Byte.class) {
            return nodes.numberNode(7 + variant);
        }
        if (raw == short.class || raw == Short.class) {
            return nodes.numberNode(SHORTS[variant % SHORTS.length]);
        }
        if (raw == int.class || raw == Integer.class) {
            return nodes.numberNode(INTS[variant % INTS.length]);
        }
        if (raw == long.class || raw == Long.class || raw == BigInteger.class || raw == Number.class) {
            return nodes.numberNode(LONGS[variant % LONGS.length]);
        }
        if (raw == double.class || raw == Double.class || raw == float.class || raw == Float.class) {
            return nodes.numberNode(DOUBLES[variant % DOUBLES.length]);
        }
        if (raw == BigDecimal.class) {
            return nodes.numberNode(new BigDecimal("19.99").add(BigDecimal.valueOf(variant)));
        }
        if (raw == byte[].class) {
            return nodes.binaryNode(TEXTS[variant % TEXTS.length].getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        String text = TIME_AND_IDS.get(raw);
        return text == null ? null : nodes.textNode(text);
    }

    private String key(JavaType keyType, int variant) {
        Class<?> raw = keyType == null ? String.class : keyType.getRawClass();
        if (raw.isEnum() && raw.getEnumConstants().length > 0) {
            return mapper.convertValue(raw.getEnumConstants()[variant % raw.getEnumConstants().length], String.class);
        }
        if (Number.class.isAssignableFrom(raw) || raw.isPrimitive()) {
            return Integer.toString(variant + 1);
        }
        return FREE_NAMES[variant % FREE_NAMES.length];
    }

    private static int elements(int variant) {
        return 1 + variant % 3;
    }

    /** The JDK's own classes that are not scalars above (a Thread, a Socket, ...): nothing to make up. */
    private static boolean isPlatformClass(Class<?> raw) {
        String name = raw.getName();
        return name.startsWith("java.") || name.startsWith("javax.") || name.startsWith("jdk.") || name.startsWith("sun.");
    }
}
