package dev.thaw.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.etcd.jetcd.ByteSequence;
import java.io.IOException;
import java.net.URI;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;

/*
 * The JSON of every value, field by field, so that the stored format is written down here and not
 * derived from Java names. Unknown fields are ignored on read (a newer node may add some); times are
 * ISO-8601 UTC strings. Decoding failures name the key and say what was wrong.
 */
/** JSON codec of the stored records. */
final class Codec {
    private static final ObjectMapper MAPPER = dev.thaw.core.Json.mapper();

    private Codec() {
    }

    /** A function's current key: a live version or a tombstone. */
    sealed interface StoredFunction {
        String name();

        long version();
    }

    record Live(FunctionVersion function) implements StoredFunction {
        @Override
        public String name() {
            return function.name();
        }

        @Override
        public long version() {
            return function.version();
        }
    }

    record Tombstone(String name, long version, String deletedBy, Instant deletedAt) implements StoredFunction {
    }

    static ByteSequence member(Member m) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", m.id());
        n.put("address", m.address().toString());
        n.put("capacity", m.capacity());
        n.put("load", m.load());
        ArrayNode mem = n.putArray("memorySnapshots");
        m.memorySnapshots().forEach(mem::add);
        ArrayNode disk = n.putArray("diskSnapshots");
        m.diskSnapshots().forEach(disk::add);
        n.put("state", m.state().wireName());
        n.put("startedAt", m.startedAt().toString());
        ObjectNode idle = n.putObject("idle");
        m.idle().forEach(idle::put);
        n.put("transfer", m.transfer());
        ArrayNode booting = n.putArray("booting");
        m.booting().forEach(booting::add);
        return write(n);
    }

    static Member member(String key, ByteSequence value) {
        JsonNode n = read(key, value);
        try {
            return new Member(text(n, "id"), URI.create(text(n, "address")), n.path("capacity").asInt(),
                    n.path("load").asInt(), strings(n.path("memorySnapshots")), strings(n.path("diskSnapshots")),
                    MemberState.fromWire(text(n, "state")), Instant.parse(text(n, "startedAt")), idle(n.path("idle")),
                    n.path("transfer").asText(""), strings(n.path("booting")));
        } catch (RuntimeException e) {
            throw bad(key, e);
        }
    }

    private static java.util.Map<String, Integer> idle(JsonNode n) {
        java.util.Map<String, Integer> idle = new java.util.TreeMap<>();
        n.fields().forEachRemaining(e -> idle.put(e.getKey(), e.getValue().asInt()));
        return idle;
    }

    static ByteSequence function(FunctionVersion f) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("name", f.name());
        n.put("version", f.version());
        n.put("manifest", f.manifest());
        n.put("codeHash", f.codeHash());
        n.put("codeSize", f.codeSize());
        n.put("codeKey", f.codeKey());
        n.put("deployedBy", f.deployedBy());
        n.put("deployedAt", f.deployedAt().toString());
        return write(n);
    }

    static ByteSequence tombstone(Tombstone t) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("name", t.name());
        n.put("version", t.version());
        n.put("deleted", true);
        n.put("deletedBy", t.deletedBy());
        n.put("deletedAt", t.deletedAt().toString());
        return write(n);
    }

    static StoredFunction function(String key, ByteSequence value) {
        JsonNode n = read(key, value);
        try {
            if (n.path("deleted").asBoolean(false)) {
                return new Tombstone(text(n, "name"), n.path("version").asLong(), text(n, "deletedBy"),
                        Instant.parse(text(n, "deletedAt")));
            }
            FunctionVersion f = new FunctionVersion(text(n, "name"), n.path("version").asLong(), text(n, "manifest"),
                    text(n, "codeHash"), n.path("codeSize").asLong(), text(n, "codeKey"), text(n, "deployedBy"),
                    Instant.parse(text(n, "deployedAt")));
            return new Live(f);
        } catch (RuntimeException e) {
            throw bad(key, e);
        }
    }

    static ByteSequence snapshot(SnapshotEntry s) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("function", s.function());
        n.put("version", s.version());
        n.put("snapshotId", s.snapshotId());
        n.put("manifestKey", s.manifestKey());
        n.put("sizeBytes", s.sizeBytes());
        n.put("restoreMode", s.restoreMode());
        n.put("takenBy", s.takenBy());
        n.put("takenAt", s.takenAt().toString());
        n.put("meta", s.meta());
        return write(n);
    }

    static SnapshotEntry snapshot(String key, ByteSequence value) {
        JsonNode n = read(key, value);
        try {
            return new SnapshotEntry(text(n, "function"), n.path("version").asLong(), text(n, "snapshotId"),
                    text(n, "manifestKey"), n.path("sizeBytes").asLong(), text(n, "restoreMode"), text(n, "takenBy"),
                    Instant.parse(text(n, "takenAt")), n.path("meta").asText("{}"));
        } catch (RuntimeException e) {
            throw bad(key, e);
        }
    }

    static ByteSequence alias(AliasEntry a) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("function", a.function());
        n.put("alias", a.alias());
        n.put("version", a.version());
        n.put("setBy", a.setBy());
        n.put("setAt", a.setAt().toString());
        return write(n);
    }

    static AliasEntry alias(String key, ByteSequence value) {
        JsonNode n = read(key, value);
        try {
            return new AliasEntry(text(n, "function"), text(n, "alias"), n.path("version").asLong(), text(n, "setBy"),
                    Instant.parse(text(n, "setAt")));
        } catch (RuntimeException e) {
            throw bad(key, e);
        }
    }

    /** A claim's value; the lease id makes it unique to the claim that wrote it (a release compares it). */
    static ByteSequence claim(BootClaim c, long leaseId) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("function", c.function());
        n.put("version", c.version());
        n.put("nodeId", c.nodeId());
        n.put("claimedAt", c.claimedAt().toString());
        n.put("lease", Long.toHexString(leaseId));
        return write(n);
    }

    static BootClaim claim(String key, ByteSequence value) {
        JsonNode n = read(key, value);
        try {
            return new BootClaim(text(n, "function"), n.path("version").asLong(), text(n, "nodeId"),
                    Instant.parse(text(n, "claimedAt")));
        } catch (RuntimeException e) {
            throw bad(key, e);
        }
    }

    private static ByteSequence write(ObjectNode n) {
        try {
            return ByteSequence.from(MAPPER.writeValueAsBytes(n));
        } catch (IOException e) {
            throw new ClusterException("cannot serialize " + n, e);
        }
    }

    private static JsonNode read(String key, ByteSequence value) {
        try {
            JsonNode n = MAPPER.readTree(value.getBytes());
            if (n == null || !n.isObject()) {
                throw new ClusterException("record at " + key + " is not a JSON object", null);
            }
            return n;
        } catch (IOException e) {
            throw new ClusterException("record at " + key + " is not valid JSON: "
                    + dev.thaw.core.Json.firstLine(e.getMessage()), e);
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException("field '" + field + "' is missing or not a string");
        }
        return v.asText();
    }

    private static Set<String> strings(JsonNode array) {
        Set<String> out = new HashSet<>();
        array.forEach(e -> out.add(e.asText()));
        return out;
    }

    private static ClusterException bad(String key, RuntimeException e) {
        return e instanceof ClusterException c ? c : new ClusterException("record at " + key + " is malformed: " + e.getMessage(), e);
    }
}
