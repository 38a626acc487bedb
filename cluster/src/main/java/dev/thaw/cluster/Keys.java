package dev.thaw.cluster;

import io.etcd.jetcd.ByteSequence;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/*
 * The key layout, under the configured prefix P (default /thaw/<cluster>/):
 *
 *   P members/<node>                    Member record, under the node's lease
 *   P functions/<name>                  current FunctionVersion record, or a tombstone after a delete
 *   P versions/<name>/<version:10>      every FunctionVersion record, immutable
 *   P snapshots/<name>/<version:10>     SnapshotEntry of that version
 *   P claims/<name>/<version:10>        boot claim of that version, under the claimant's lease
 *   P warming/<name>/<version:10>       claim to warm that version's snapshot, under the claimant's lease
 *   P waiters/<name>/<version:10>/<node>  a node waiting for that version's snapshot, under its lease
 *   P aliases/<name>/<alias>            AliasEntry: the version the alias names
 *   E <node>/<request id>               an Event invocation the node accepted and has not finished
 *
 * where E is P with its last '/' replaced by ".events/" (/thaw/<cluster>.events/): outside P, so
 * the view's watch (over P) never carries events' payloads to every node.
 * Versions are zero-padded to 10 digits so that etcd's byte order is numeric order. Per-function
 * prefixes end in '/', so "hello/" never matches "hello-world/".
 */
/** Builds and parses the keys of one cluster. */
final class Keys {
    static final String MEMBERS = "members/";
    static final String FUNCTIONS = "functions/";
    static final String VERSIONS = "versions/";
    static final String SNAPSHOTS = "snapshots/";
    static final String CLAIMS = "claims/";
    static final String WARMING = "warming/";
    static final String ALIASES = "aliases/";
    static final String WAITERS = "waiters/";

    private final String prefix;

    Keys(String prefix) {
        this.prefix = prefix;
    }

    String prefix() {
        return prefix;
    }

    String member(String nodeId) {
        return prefix + MEMBERS + nodeId;
    }

    String function(String name) {
        return prefix + FUNCTIONS + name;
    }

    String versions(String name) {
        return prefix + VERSIONS + name + "/";
    }

    String version(String name, long version) {
        return versions(name) + pad(version);
    }

    String snapshots(String name) {
        return prefix + SNAPSHOTS + name + "/";
    }

    String snapshot(String name, long version) {
        return snapshots(name) + pad(version);
    }

    String claims(String name) {
        return prefix + CLAIMS + name + "/";
    }

    String claim(String name, long version) {
        return claims(name) + pad(version);
    }

    String warmings(String name) {
        return prefix + WARMING + name + "/";
    }

    String warming(String name, long version) {
        return warmings(name) + pad(version);
    }

    String waiter(String name, long version, String nodeId) {
        return prefix + WAITERS + name + "/" + pad(version) + "/" + nodeId;
    }

    String aliases(String name) {
        return prefix + ALIASES + name + "/";
    }

    String alias(String name, String alias) {
        return aliases(name) + alias;
    }

    /** @return the root of every node's events, outside the watched prefix */
    String eventsRoot() {
        return prefix.substring(0, prefix.length() - 1) + ".events/";
    }

    String events(String nodeId) {
        return eventsRoot() + nodeId + "/";
    }

    String event(String nodeId, String requestId) {
        return events(nodeId) + requestId;
    }

    String kind(String kind) {
        return prefix + kind;
    }

    static String pad(long version) {
        return String.format("%010d", version);
    }

    /**
     * A parsed key: its kind (one of the constants), the node or function name, a version where there
     * is one, and its leaf: an alias's name for an alias key, the waiting node's id for a waiter's key
     * (else empty).
     */
    record Parsed(String kind, String name, long version, String leaf) {
        Parsed(String kind, String name, long version) {
            this(kind, name, version, "");
        }
    }

    /** @return the parts of a key of this layout, empty for a key of another layout (ignored by readers) */
    Optional<Parsed> parse(String key) {
        if (!key.startsWith(prefix)) {
            return Optional.empty();
        }
        String rest = key.substring(prefix.length());
        for (String kind : new String[] {MEMBERS, FUNCTIONS}) {
            if (rest.startsWith(kind) && rest.indexOf('/', kind.length()) < 0 && rest.length() > kind.length()) {
                return Optional.of(new Parsed(kind, rest.substring(kind.length()), 0));
            }
        }
        if (rest.startsWith(ALIASES)) {
            String tail = rest.substring(ALIASES.length());
            int slash = tail.indexOf('/');
            return slash > 0 && slash < tail.length() - 1 && tail.indexOf('/', slash + 1) < 0
                    ? Optional.of(new Parsed(ALIASES, tail.substring(0, slash), 0, tail.substring(slash + 1)))
                    : Optional.empty();
        }
        if (rest.startsWith(WAITERS)) {
            String[] parts = rest.substring(WAITERS.length()).split("/", -1);
            if (parts.length != 3 || parts[0].isEmpty() || parts[2].isEmpty()) {
                return Optional.empty();
            }
            try {
                return Optional.of(new Parsed(WAITERS, parts[0], Long.parseLong(parts[1]), parts[2]));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        for (String kind : new String[] {VERSIONS, SNAPSHOTS, CLAIMS}) {
            if (rest.startsWith(kind)) {
                String tail = rest.substring(kind.length());
                int slash = tail.indexOf('/');
                if (slash > 0 && slash < tail.length() - 1) {
                    try {
                        return Optional.of(new Parsed(kind, tail.substring(0, slash), Long.parseLong(tail.substring(slash + 1))));
                    } catch (NumberFormatException e) {
                        return Optional.empty();
                    }
                }
            }
        }
        return Optional.empty();
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static String string(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }
}
