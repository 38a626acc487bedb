package dev.thaw.workloads;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * FunctionBench's {@code json_dumps_loads}: serialize a nested document with Jackson and parse it
 * back. Handler: {@code dev.thaw.workloads.JsonWorkload::handle}.
 *
 * <p>The document ({@link #document(int)}) has {@code size} records, each with nested objects,
 * arrays, numbers, booleans and strings that need escaping, all derived from the record's index. The
 * parsed copy must equal the original, or the invocation fails.
 */
public class JsonWorkload implements Handler<JsonWorkload.Input, JsonWorkload.Output> {

    /** @param size number of records in the document (0 to 1000000) */
    public record Input(int size) {
    }

    /**
     * @param bytes UTF-8 size of the serialized document
     * @param records records parsed back
     * @param sha256 hex SHA-256 of the serialized document
     */
    public record Output(int bytes, int records, String sha256) {
    }

    /** The document: a header and its records. */
    @JsonPropertyOrder({"version", "generator", "records"})
    public record Document(int version, String generator, List<Item> records) {
    }

    /** One record. */
    @JsonPropertyOrder({"id", "name", "active", "score", "tags", "address", "history"})
    public record Item(long id, String name, boolean active, double score, List<String> tags, Address address,
            List<Event> history) {
    }

    /** A nested object. */
    @JsonPropertyOrder({"street", "city", "zip"})
    public record Address(String street, String city, String zip) {
    }

    /** An element of a nested array. */
    @JsonPropertyOrder({"seq", "kind", "amount"})
    public record Event(int seq, String kind, long amount) {
    }

    static final String[] CITIES = {"Lisbon", "Zürich", "Kraków", "Oslo", "Nairobi", "Osaka", "Quito"};
    static final String[] KINDS = {"create", "update", "delete"};

    private final ObjectMapper mapper;

    /** Creates the handler; builds the mapper once, with its serializers for the document types. */
    public JsonWorkload() {
        mapper = new ObjectMapper();
        // warm the (de)serializer caches during init, which the snapshot keeps
        try {
            mapper.readValue(mapper.writeValueAsBytes(document(2)), Document.class);
        } catch (IOException e) {
            throw new IllegalStateException("the JSON mapper failed on its own document", e);
        }
    }

    @Override
    public Output handle(Input input, InvocationContext context) throws IOException {
        Inputs.required(input, "{\"size\":1000}");
        int size = Inputs.inRange("size", input.size(), 0, 1_000_000);
        Document original = document(size);
        byte[] serialized = mapper.writeValueAsBytes(original);
        Document parsed = mapper.readValue(serialized, Document.class);
        if (!parsed.equals(original)) {
            throw new IllegalStateException("the parsed document differs from the serialized one");
        }
        return new Output(serialized.length, parsed.records().size(), Hashes.sha256Hex(serialized));
    }

    /** @return the document of {@code size} records, the same for the same size */
    static Document document(int size) {
        List<Item> items = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            items.add(item(i));
        }
        return new Document(1, "thaw-workloads", items);
    }

    static Item item(int i) {
        List<String> tags = new ArrayList<>();
        for (int t = 0; t <= i % 3; t++) {
            tags.add("tag-" + (i + t) % 10);
        }
        List<Event> history = new ArrayList<>();
        for (int e = 0; e < 1 + i % 4; e++) {
            history.add(new Event(e, KINDS[(i + e) % KINDS.length], (long) i * 1000 + e * 37));
        }
        Address address = new Address(
                (i % 200 + 1) + " \"Quoted\" Street\\" + (i % 7), CITIES[i % CITIES.length], String.format(Locale.ROOT, "%05d", i % 100_000));
        return new Item(i, "user-" + i, i % 2 == 0, i * 0.25, tags, address, history);
    }
}
