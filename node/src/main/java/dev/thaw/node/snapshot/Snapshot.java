package dev.thaw.node.snapshot;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.Json;
import dev.thaw.node.function.Deployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The snapshot of one deployment: its state machine and, once taken, what a restore needs (the
 * image directory, the pipe names its standard streams had, the control token its runtime uses).
 *
 * <pre>
 *   NONE ──boot with checkpoint──▶ PENDING ──dump ok──▶ READY ──restore failed──▶ NONE (discarded)
 *                                     └──dump or hook failed──▶ FAILED (cold starts boot)
 *   DISABLED: the manifest turned snapshots off, or CRIU is unavailable
 * </pre>
 * A READY snapshot whose restore fails is discarded, so the boot that replaces the failed restore
 * takes a fresh one: a damaged image heals itself at the cost of one boot.
 *
 * A READY snapshot is replaced once, in place, by a warmed one ({@link #replace}): a dump of an
 * instance that has served invocations, taken into {@link #warmStagingDir()} while the snapshot stays
 * READY, and swapped in while no restore reads the images (the caller's business). The control token
 * and the Runtime API secret stay: a clone speaks with those of the first instance, and so does
 * every clone of its clones.
 */
public final class Snapshot {

    public enum State { NONE, PENDING, READY, FAILED, DISABLED }

    private final Path dir;
    private final Path hotDir;
    private State state;
    private String reason;
    private String controlToken;
    private String runtimeSecret;
    private boolean sandboxed;
    private boolean egressProxy;
    private String[] pipes;
    private long sizeBytes;
    private long checkpointMs;
    private Instant createdAt;
    /** How many invocations the instance had served when this snapshot was taken of it; 0 for one taken after init. */
    private long warmedAfter;
    private boolean refetched;
    public final AtomicLong restores = new AtomicLong();
    public final AtomicLong restoreFailures = new AtomicLong();

    private Snapshot(Path dir, Path hotDir, State state, String reason) {
        this.dir = dir;
        this.hotDir = hotDir;
        this.state = state;
        this.reason = reason;
    }

    /**
     * Loads the deployment's snapshot if one was taken before, else starts empty.
     *
     * @param hotDir the working copy's directory (tmpfs); its images may be gone after a node
     *     restart, in which case the restore path materializes them from the store
     */
    public static Snapshot forDeployment(Deployment d, Path hotDir, Optional<String> disabledReason) {
        if (disabledReason.isPresent()) {
            return new Snapshot(d.snapshotDir(), hotDir, State.DISABLED, disabledReason.get());
        }
        Snapshot s = new Snapshot(d.snapshotDir(), hotDir, State.NONE, null);
        s.load();
        return s;
    }

    /** @return the deployment's snapshot directory in the data directory (metadata, dump log) */
    public Path metaDir() {
        return dir;
    }

    /** @return whether the snapshot was taken of a sandboxed instance (its clones must be restored into one) */
    public synchronized boolean sandboxed() {
        return sandboxed;
    }

    /**
     * @return whether the instance it was taken of was told of an egress proxy (its environment and JVM
     *     flags name one; so do its clones')
     */
    public synchronized boolean egressProxy() {
        return egressProxy;
    }

    /** @return where the instance's scratch ({@code /tmp}), as the dump froze it, is kept for its clones */
    public Path scratchDir() {
        return dir.resolve("scratch");
    }

    public Path imagesDir() {
        return hotDir.resolve("images");
    }

    public synchronized State state() {
        return state;
    }

    public synchronized String reason() {
        return reason;
    }

    public synchronized String controlToken() {
        return controlToken;
    }

    /** @return the Runtime API secret of the instance that was checkpointed (a clone's environment still names it) */
    public synchronized String runtimeSecret() {
        return runtimeSecret;
    }

    public synchronized String[] pipes() {
        return pipes.clone();
    }

    /** Moves NONE to PENDING for a boot that will checkpoint; false if a snapshot must not be taken now. */
    public synchronized boolean beginCheckpoint(String token, String secret) {
        if (state != State.NONE) {
            return false;
        }
        state = State.PENDING;
        controlToken = token;
        runtimeSecret = secret;
        FileTrees.deleteQuietly(dir);
        FileTrees.deleteQuietly(hotDir);
        try {
            java.nio.file.Files.createDirectories(dir);
        } catch (java.io.IOException e) {
            state = State.NONE;
            return false;
        }
        return true;
    }

    /** Turns snapshots off for this deployment, saying why (a node that must not serve any). */
    public synchronized void disable(String why) {
        state = State.DISABLED;
        reason = why;
    }

    /**
     * A checkpoint begun here is not taken after all (another node of the cluster takes it): back
     * to NONE, with the metadata directory as it was.
     */
    public synchronized void abandonCheckpoint() {
        if (state == State.PENDING) {
            state = State.NONE;
            controlToken = null;
            runtimeSecret = null;
        }
    }

    /**
     * Makes the snapshot another node took this one's: its metadata (fetched into
     * {@link #metaDir()}) is loaded, and restores read its images from the shared store.
     *
     * @return whether it is READY now (false when the metadata is missing or unreadable)
     */
    public synchronized boolean adopt() {
        if (state != State.PENDING && state != State.NONE) {
            return state == State.READY;
        }
        FileTrees.deleteQuietly(hotDir);
        load();
        return state == State.READY;
    }

    public synchronized Path stagingDir() {
        return hotDir.resolve("images.incoming");
    }

    /** @return where the dump of a warmed snapshot is written before {@link #replace} swaps it in */
    public Path warmStagingDir() {
        return hotDir.resolve("images.warm");
    }

    /** @return where the scratch of a warmed snapshot's instance is kept until {@link #replace} */
    public Path warmScratchDir() {
        return dir.resolve("scratch.warm");
    }

    /** @return how many invocations the instance had served when the snapshot was taken of it; 0 after init */
    public synchronized long warmedAfter() {
        return warmedAfter;
    }

    /**
     * Swaps a warmed snapshot in for the READY one: the images of {@link #warmStagingDir()} and the
     * scratch of {@link #warmScratchDir()} (when the instance had one) replace the current ones.
     * The caller makes sure no restore reads the current images meanwhile.
     *
     * @param pipeNames the warmed instance's standard streams at the dump
     * @param servedInvocations how many invocations it had served
     * @return false, with nothing changed, when the snapshot is no longer READY (discarded, or its
     *     version retired) or the staged images are missing
     */
    public synchronized boolean replace(String[] pipeNames, long bytes, long dumpMs, long servedInvocations)
            throws IOException {
        if (state != State.READY || !Files.isDirectory(warmStagingDir())) {
            return false;
        }
        moveInPlaceOf(warmStagingDir(), imagesDir(), hotDir.resolve("images.replaced"));
        if (Files.isDirectory(warmScratchDir())) {
            FileTrees.deleteQuietly(scratchDir());
            Files.move(warmScratchDir(), scratchDir());
        }
        warmedAfter = servedInvocations;
        record(pipeNames, bytes, dumpMs, sandboxed, egressProxy);
        return true;
    }

    /** @return where the metadata of a warmed snapshot another node took is fetched before {@link #follow} */
    public Path followStagingDir() {
        return dir.resolveSibling(dir.getFileName() + ".warmed");
    }

    /**
     * Moves to the warmed snapshot another node of the cluster took of the same version, in place of
     * the READY one taken after init: its metadata, fetched into {@link #followStagingDir()} (the
     * scratch with it), replaces this one's, and the working copy goes, so that restores read the
     * new images from the store. The caller makes sure no restore reads the current images or
     * scratch meanwhile. The control token and Runtime API secret come with the metadata: the
     * warmed snapshot was taken on the node that took the first one, and kept its.
     *
     * @return false, with nothing changed, when the snapshot is not READY, is warmed already, or the
     *     fetched metadata is not a warmed snapshot's
     */
    public synchronized boolean follow() throws IOException {
        Path incoming = followStagingDir();
        Path metaFile = incoming.resolve("snapshot.json");
        if (state != State.READY || warmedAfter > 0 || !Files.exists(metaFile)
                || Json.mapper().readTree(metaFile.toFile()).path("warmedAfterInvocations").asLong(0) <= 0) {
            return false;
        }
        moveInPlaceOf(incoming, dir, dir.resolveSibling(dir.getFileName() + ".replaced"));
        FileTrees.deleteQuietly(hotDir);
        if (!load()) {
            state = State.NONE;
            reason = "the warmed snapshot of another node could not be loaded; the next start boots";
            return false;
        }
        return true;
    }

    /** Moves {@code incoming} to {@code target}, the directory there first moved {@code aside} and then deleted. */
    private static void moveInPlaceOf(Path incoming, Path target, Path aside) throws IOException {
        FileTrees.deleteQuietly(aside);
        if (Files.isDirectory(target)) {
            Files.move(target, aside);
        }
        Files.move(incoming, target);
        FileTrees.deleteQuietly(aside);
    }

    /**
     * @param inSandbox whether the instance ran in a sandbox
     * @param withEgressProxy whether its environment names an egress proxy
     */
    public synchronized void ready(String[] pipeNames, long bytes, long dumpMs, boolean inSandbox, boolean withEgressProxy)
            throws IOException {
        Files.move(stagingDir(), imagesDir());
        Files.createDirectories(dir);
        warmedAfter = 0;
        record(pipeNames, bytes, dumpMs, inSandbox, withEgressProxy);
        state = State.READY;
        reason = null;
        refetched = false;
    }

    /** Keeps what a restore needs of a dump taken now, in memory and in {@code snapshot.json}. */
    private void record(String[] pipeNames, long bytes, long dumpMs, boolean inSandbox, boolean withEgressProxy)
            throws IOException {
        pipes = pipeNames.clone();
        sizeBytes = bytes;
        checkpointMs = dumpMs;
        createdAt = Instant.now();
        ObjectNode meta = Json.mapper().createObjectNode();
        meta.put("controlToken", controlToken);
        meta.put("runtimeSecret", runtimeSecret);
        meta.put("stdin", pipes[0]);
        meta.put("stdout", pipes[1]);
        meta.put("sizeBytes", sizeBytes);
        meta.put("checkpointMs", checkpointMs);
        meta.put("createdAt", createdAt.toString());
        meta.put("sandboxed", inSandbox);
        meta.put("egressProxy", withEgressProxy);
        meta.put("warmedAfterInvocations", warmedAfter);
        sandboxed = inSandbox;
        egressProxy = withEgressProxy;
        Path file = dir.resolve("snapshot.json");
        Path next = dir.resolve("snapshot.json.next");
        Files.write(next, Json.write(meta));
        Files.move(next, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * A restore from the working copy failed while the store holds a verified copy: count it and
     * allow one refetch of the working copy per snapshot.
     *
     * @return true when the caller should drop the working copy and restore again from the store
     */
    public synchronized boolean refetchOnce(String why) {
        if (refetched || state != State.READY) {
            return false;
        }
        refetched = true;
        restoreFailures.incrementAndGet();
        reason = "a restore failed and the working copy was fetched again from the store: " + why;
        FileTrees.deleteQuietly(imagesDir());
        return true;
    }

    public synchronized void failed(String why) {
        FileTrees.deleteQuietly(dir);
        FileTrees.deleteQuietly(hotDir);
        state = State.FAILED;
        reason = why;
    }

    /**
     * A restore from this snapshot failed: forget it, so the next boot takes a new one.
     *
     * @return whether this call discarded it (false when a concurrent failure of another clone already had)
     */
    public synchronized boolean discard(String why) {
        if (state != State.READY) {
            return false;
        }
        FileTrees.deleteQuietly(dir);
        FileTrees.deleteQuietly(hotDir);
        restoreFailures.incrementAndGet();
        state = State.NONE;
        reason = "the last restore failed and the snapshot was discarded: " + why;
        return true;
    }

    public synchronized FunctionInfo.SnapshotInfo info() {
        String s = state.name().toLowerCase(java.util.Locale.ROOT);
        boolean taken = state == State.READY;
        return new FunctionInfo.SnapshotInfo(s, reason, taken ? sizeBytes : null, taken ? checkpointMs : null,
                taken ? createdAt.toString() : null, restores.get(), restoreFailures.get(),
                taken && warmedAfter > 0 ? warmedAfter : null);
    }

    /** @return whether a snapshot was loaded (READY now) */
    private boolean load() {
        Path metaFile = dir.resolve("snapshot.json");
        if (!Files.exists(metaFile)) {
            FileTrees.deleteQuietly(dir);
            return false;
        }
        try {
            JsonNode meta = Json.mapper().readTree(metaFile.toFile());
            controlToken = meta.get("controlToken").asText();
            runtimeSecret = meta.path("runtimeSecret").asText("");
            sandboxed = meta.path("sandboxed").asBoolean(false);
            egressProxy = meta.path("egressProxy").asBoolean(false);
            pipes = new String[] {meta.get("stdin").asText(), meta.get("stdout").asText()};
            sizeBytes = meta.get("sizeBytes").asLong();
            checkpointMs = meta.get("checkpointMs").asLong();
            createdAt = Instant.parse(meta.get("createdAt").asText());
            warmedAfter = meta.path("warmedAfterInvocations").asLong(0);
            state = State.READY;
            return true;
        } catch (IOException | RuntimeException e) {
            FileTrees.deleteQuietly(dir);
            return false;
        }
    }
}
