package dev.thaw.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/**
 * A client of one thaw node's HTTP API (see {@code docs/API.md}). Every method is a single request.
 * Error answers surface as {@link ThawException} carrying the node's error type (function errors as
 * {@link dev.thaw.core.FunctionErrorException}); an unreachable node as
 * {@link dev.thaw.core.ErrorType#ServiceUnavailable}. Implementations are thread-safe.
 */
public interface ThawClient extends AutoCloseable {

    /**
     * Creates a client speaking HTTP/1.1 over keep-alive connections.
     *
     * @param base the node's URL, e.g. {@code http://127.0.0.1:8080}
     * @return a new client; close it to release its connections
     */
    static ThawClient create(URI base) {
        return new HttpThawClient(base, null, null);
    }

    /**
     * Creates a client that authenticates with the node's API token ({@code Authorization: Bearer}).
     *
     * @param base the node's URL, e.g. {@code http://127.0.0.1:8080}
     * @param token the node's API token (its {@code DATA_DIR/api-token}), or {@code null} for none
     * @return a new client; close it to release its connections
     */
    static ThawClient create(URI base, String token) {
        return new HttpThawClient(base, null, token);
    }

    /**
     * Creates an authenticated client whose requests give up after {@code requestTimeout}.
     *
     * @param base the node's URL
     * @param token the node's API token, or {@code null} for none
     * @param requestTimeout how long one request may take, answer included
     * @return a new client
     */
    static ThawClient create(URI base, String token, java.time.Duration requestTimeout) {
        return new HttpThawClient(base, java.util.Objects.requireNonNull(requestTimeout, "requestTimeout"), token);
    }

    /**
     * Creates a client whose requests give up after {@code requestTimeout}, for callers (benchmarks,
     * scripts) that must not wait forever on a node that stopped answering.
     *
     * @param base the node's URL
     * @param requestTimeout how long one request may take, answer included
     * @return a new client; a request that times out throws
     *     {@link dev.thaw.core.ErrorType#ServiceUnavailable}
     */
    static ThawClient create(URI base, java.time.Duration requestTimeout) {
        return new HttpThawClient(base, java.util.Objects.requireNonNull(requestTimeout, "requestTimeout"), null);
    }

    /** @return the API token this client sends, if any (for a client made from this one's settings) */
    default java.util.Optional<String> token() {
        return java.util.Optional.empty();
    }

    /** @return the node URL this client talks to */
    URI base();

    /**
     * Deploys (creates or replaces) a function.
     *
     * @param manifest the function's manifest; its name is the path segment
     * @param jar the code: a JAR, or a zip holding {@code bootstrap} for {@code runtime = "provided"}
     * @return what the node says about the deployed function
     */
    FunctionInfo deploy(FunctionManifest manifest, Path jar);

    /**
     * Deploys as {@link #deploy(FunctionManifest, Path)} does, reporting the upload's progress.
     *
     * @param progress told how many bytes of the request have been sent, as they are; the answer
     *     (the node unpacking and checking the code) comes after the last report
     * @return what the node says about the deployed function
     */
    default FunctionInfo deploy(FunctionManifest manifest, Path jar, UploadProgress progress) {
        return deploy(manifest, jar);
    }

    /** @return every deployed function, sorted by name */
    List<FunctionInfo> list();

    /** @return what the node says about function {@code name} */
    FunctionInfo describe(String name);

    /**
     * Deletes a function with its instances and snapshot.
     *
     * @return the version that was deleted
     */
    long delete(String name);

    /** @return the last {@code tail} log lines of the function, newline-separated */
    String logs(String name, int tail);

    /**
     * Stops the function's idle instances so the next invocation is a cold start.
     *
     * @return how many instances were stopped
     */
    int evict(String name);

    /** @return the node's health document ({@code GET /healthz}) */
    JsonNode health();

    /** @return the node's metrics in Prometheus text format */
    String metrics();

    /** @return every function's snapshot: its state on the node and, when stored, its store statistics */
    JsonNode snapshots();

    /** @return one function's snapshot report ({@code thaw snapshot inspect}) */
    JsonNode snapshot(String name);

    /**
     * Drops a function's snapshot from fast places: {@code working} (the node's tmpfs copy),
     * {@code memory} and {@code disk} (the store's local tiers). The next restore fetches it from
     * the fastest place left.
     *
     * @return the bytes dropped per place
     */
    JsonNode evictSnapshot(String name, java.util.Set<String> places);

    /**
     * Brings a function's snapshot into the node's working copy (from the store if need be), so the
     * next restores read it locally. @return the working copy's size and how long loading took
     */
    JsonNode loadSnapshot(String name);

    /** @return how much two functions' stored snapshots share (bytes, shared bytes, dedup ratio) */
    JsonNode compareSnapshots(String name, String other);

    /** Runs the snapshot store's garbage collector. @return what it removed and kept */
    JsonNode storeGc();

    /**
     * Invokes a function synchronously.
     *
     * @param payload the event as JSON bytes; empty means {@code null}
     * @return the function's result and the node's timing headers
     */
    InvocationResult invoke(String name, byte[] payload);

    /**
     * Invokes a function as Lambda's Invoke does: a version or alias, an invocation type, the log tail.
     * A function's own failure (its handler threw, its init failed, it timed out, its instance died) is
     * an answer, not an exception: {@link InvocationResult#functionError()} is present and the body is
     * Lambda's error body. Errors of the node (no such function or qualifier, too many requests, a node
     * shutting down) throw.
     *
     * @param name the function's name, or {@code name:qualifier}, or a Lambda ARN
     * @param payload the event as JSON bytes; empty means {@code null}
     * @return the answer: 200 with the result, 202 for an accepted {@code Event}, 204 for a {@code DryRun}
     */
    InvocationResult invoke(String name, byte[] payload, InvokeOptions options);

    /** @return the function's aliases, alias to version, sorted by alias */
    java.util.SortedMap<String, Long> aliases(String name);

    /**
     * Creates or moves an alias to one of the function's versions.
     *
     * @return the version the alias pointed to before, empty when it is new
     */
    java.util.OptionalLong setAlias(String name, String alias, long version);

    /** Deletes an alias. @return the version it pointed to */
    long deleteAlias(String name, String alias);

    /** @return the function's invocable versions: number, aliases, deploy time, snapshot state ({@code GET …/versions}) */
    JsonNode versions(String name);

    /** @return the cluster's live nodes as the node sees them ({@code GET /cluster/nodes}) */
    JsonNode clusterNodes();

    /**
     * @return the function's dead letters: its asynchronous invocations whose every attempt failed
     *     ({@code {"function", "deadLetters": [{"requestId","enqueuedAt","failedAt","attempts","lastError","payloadBytes"}]}})
     */
    JsonNode deadLetters(String name);

    /** Deletes the function's dead letters. @return how many there were */
    int clearDeadLetters(String name);

    /** Releases the client's connections. */
    @Override
    void close();
}
