package dev.thaw.runtime;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/** The runtime's Jackson configuration for events and results (Lambda-compatible leniency). */
final class Mappers {
    private static final String SAMPLE =
            "{\"s\":\"text\",\"i\":1,\"l\":12345678901,\"d\":1.5,\"b\":true,\"n\":null,\"a\":[1,\"x\",{\"k\":[]}]}";

    private Mappers() {
    }

    /**
     * Runs a JSON document of every basic kind through the mapper during init, so the parser, the
     * generic (map, list, number, string) serializers and deserializers are loaded and linked in the
     * snapshot rather than on each clone's first invocation. No user code runs.
     */
    static void warmUp(ObjectMapper mapper) {
        try {
            // events arrive as bytes (a parser of its own), results leave as bytes
            byte[] bytes = SAMPLE.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            for (int i = 0; i < 200; i++) {
                Object tree = mapper.readValue(SAMPLE, Object.class);
                mapper.writeValueAsBytes(tree);
                mapper.writeValueAsBytes(mapper.readTree(SAMPLE));
                mapper.writeValueAsBytes(mapper.readValue(bytes, Object.class));
            }
        } catch (java.io.IOException e) {
            throw new IllegalStateException("the runtime's own JSON sample does not parse", e);
        }
    }

    static ObjectMapper create() {
        return JsonMapper.builder()
                .addModule(new JavaTimeModule())
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.ALWAYS))
                .build();
    }
}
