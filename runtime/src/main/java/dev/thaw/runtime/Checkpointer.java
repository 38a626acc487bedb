package dev.thaw.runtime;

import dev.thaw.protocol.RuntimeProtocol.Control;
import dev.thaw.protocol.RuntimeProtocol.Resume;
import dev.thaw.runtime.crac.CheckpointException;
import dev.thaw.runtime.crac.Core;
import dev.thaw.runtime.crac.RestoreException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * The instance's side of the snapshot handshake, run once after init when the node asked for it.
 *
 * <ol>
 *   <li>Run the {@code org.crac} {@code beforeCheckpoint} hooks (reverse registration order).</li>
 *   <li>Close the Runtime API connection (and the transfers' pooled ones), so no socket is open in the image, collect garbage and
 *       give freed native memory back ({@link NativeMemory}), so the image holds live data only.</li>
 *   <li>Tell the node "checkpoint-ready" on the control channel and block reading stdin.</li>
 *   <li>The node dumps the process and, in the original and in every clone, writes one JSON line
 *       to stdin: {@code {"restored": true|false, "runtimeApi": "..."}}. A clone gets its own
 *       Runtime API address and reseeds the JDK's generators ({@link Uniqueness}).</li>
 *   <li>Run the {@code afterRestore} hooks (registration order) within their time budget and
 *       reconnect.</li>
 * </ol>
 * If a {@code beforeCheckpoint} hook fails, the node is told "checkpoint-abort" with the reason,
 * the hooks are told to resume, and the instance carries on without a snapshot.
 */
final class Checkpointer {
    private static final long QUIET_MS = 150;
    /**
     * Looked up once, when the first handshake loads this class: looking it up runs the JDK's
     * platform-component streams, and in an instance whose JIT has compiled a handler's own
     * streams (the node asks for the handshake again mid-life, see Main.serve) those calls sites
     * would meet new classes and throw compiled code away right before the dump.
     */
    private static final java.lang.management.CompilationMXBean JIT = java.lang.management.ManagementFactory
            .getCompilationMXBean();
    /** Standard input without the JDK's buffered {@code System.in} (see {@link #awaitResume()}); never closed. */
    private static final java.io.FileInputStream STDIN = new java.io.FileInputStream(java.io.FileDescriptor.in);
    private static final long MAX_COMPILER_WAIT_MS = 3_000;
    private final RuntimeConfig config;
    private final ObjectMapper mapper;
    private final ControlChannel control;
    private boolean rehearse;

    Checkpointer(RuntimeConfig config, ObjectMapper mapper) {
        this.config = config;
        this.mapper = mapper;
        this.control = new ControlChannel(config.controlToken());
    }

    /**
     * Runs the handshake.
     *
     * @param api the connection used during init, closed here
     * @return the connection to use from now on
     */
    RuntimeApiClient checkpoint(RuntimeApiClient api) throws IOException, InterruptedException {
        try {
            Core.globalContext().beforeCheckpoint(null);
        } catch (CheckpointException e) {
            abort("a beforeCheckpoint hook failed: " + describe(e));
            resumeHooks(api);
            return api;
        }
        Uniqueness uniqueness = new Uniqueness().prepare();
        api.close();
        NodeConnections.closeIdle();
        // The first trim links its native downcall, which spins method handles the JIT would still be
        // compiling at the dump; after the wait below, the second one finds everything compiled.
        NativeMemory.trim();
        awaitQuietCompiler();
        System.gc();
        NativeMemory.trim();
        control.send(Control.CHECKPOINT_READY);
        JsonNode resume = awaitResume();
        RuntimeConfig now = config.withRuntimeApi(resume.path(Resume.RUNTIME_API).asText(config.runtimeApi()));
        if (resume.path(Resume.RESTORED).asBoolean(false)) {
            rehearse = resume.path(Resume.REHEARSE).asBoolean(false);
            List<String> skipped = uniqueness.reseedAfterRestore();
            if (!skipped.isEmpty()) {
                System.err.println("thaw: could not reseed after restore: " + String.join("; ", skipped));
            }
        }
        NodeConnections.use(now.runtimeApi());
        RuntimeApiClient fresh = new RuntimeApiClient(now.runtimeApi(), mapper);
        resumeHooks(fresh);
        return fresh;
    }

    /** @return whether the node restored this instance ahead of demand and asked it to rehearse (see Main) */
    boolean rehearseAsked() {
        return rehearse;
    }

    /** Tells the node that no snapshot will be taken of this instance, and why; it carries on serving. */
    void abort(String why) throws IOException {
        control.send(Control.CHECKPOINT_ABORT + " " + why);
    }

    /**
     * Waits (at most {@link #MAX_COMPILER_WAIT_MS}) until the JIT has compiled nothing for
     * {@link #QUIET_MS}: compilations still queued when the snapshot is taken would resume in every
     * clone and compete with its first invocation for the CPU, and their scratch memory would be
     * copied into the image.
     */
    static void awaitQuietCompiler() {
        var jit = JIT;
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            return;
        }
        long deadline = System.nanoTime() + MAX_COMPILER_WAIT_MS * 1_000_000L;
        long last = jit.getTotalCompilationTime();
        long quietSince = System.nanoTime();
        while (System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = jit.getTotalCompilationTime();
            if (now != last) {
                last = now;
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince >= QUIET_MS * 1_000_000L) {
                return;
            }
        }
    }

    private void resumeHooks(RuntimeApiClient api) throws IOException, InterruptedException {
        try {
            Core.globalContext().afterRestoreWithin(Duration.ofMillis(config.restoreHookBudgetMs()));
        } catch (RestoreException e) {
            api.restoreError("Runtime.AfterRestoreError", "an afterRestore hook failed: " + describe(e), e);
            System.exit(1);
        }
    }

    /**
     * Reads the resume line byte by byte from standard input itself: {@code System.in} is a
     * {@code BufferedInputStream}, whose compiled {@code read} in an instance that has served
     * invocations knows only the Runtime API's socket stream below it, and would be thrown away in
     * the snapshot and in every clone at the resume line (a second handshake, mid-life). Nothing else
     * reads standard input.
     */
    private JsonNode awaitResume() throws IOException {
        java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(128);
        for (int b = STDIN.read(); b != '\n'; b = STDIN.read()) {
            if (b < 0) {
                // The node is gone: nothing will ever resume this instance.
                System.exit(2);
            }
            line.write(b);
        }
        return mapper.readTree(line.toString(StandardCharsets.UTF_8));
    }

    private static String describe(Exception e) {
        Throwable[] causes = e.getSuppressed();
        if (causes.length == 0) {
            return String.valueOf(e.getMessage());
        }
        return String.join("; ", Arrays.stream(causes).map(c -> c.getClass().getName() + ": " + c.getMessage()).toList());
    }
}
