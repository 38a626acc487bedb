package dev.thaw.node.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thaw.core.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/*
 * An EventQueue in files, one per event:
 *
 *   DIR/pending/ID.json          an event waiting for its final outcome
 *   DIR/dead/FUNCTION/ID.json    an event that failed for good
 *
 * Every write goes to a temporary file in the same directory, is forced to disk, renamed over the
 * target, and the directory is forced too, so that a crash at any point leaves either the old file
 * or the new one, never a torn one. An event becomes a dead letter by writing the dead letter first
 * and deleting the pending file second; a crash between the two leaves both, and opening the queue
 * finishes the move (the dead letter wins). Temporary files a crash left behind are deleted.
 */
/** An {@link EventQueue} of files in one directory (see the comment above). */
final class FileEventQueue implements EventQueue {
    private static final System.Logger LOG = System.getLogger("thaw.node");
    private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    private static final String TMP = ".tmp";

    private final Path pending;
    private final Path dead;

    FileEventQueue(Path dir) throws IOException {
        this.pending = Files.createDirectories(dir.resolve("pending"));
        this.dead = Files.createDirectories(dir.resolve("dead"));
        recover();
    }

    /** Finishes what a crash interrupted: moves to the dead letters that were half done, temporary files. */
    private void recover() throws IOException {
        deleteTemporaries(pending);
        try (DirectoryStream<Path> functions = Files.newDirectoryStream(dead, Files::isDirectory)) {
            for (Path f : functions) {
                deleteTemporaries(f);
                try (DirectoryStream<Path> letters = Files.newDirectoryStream(f, "*.json")) {
                    for (Path letter : letters) {
                        if (Files.deleteIfExists(pending.resolve(letter.getFileName()))) {
                            syncDirectory(pending);
                        }
                    }
                }
            }
        }
    }

    private static void deleteTemporaries(Path dir) throws IOException {
        try (DirectoryStream<Path> tmps = Files.newDirectoryStream(dir, "*" + TMP)) {
            for (Path t : tmps) {
                Files.deleteIfExists(t);
            }
        }
    }

    @Override
    public synchronized void add(QueuedEvent event) throws IOException {
        write(pending, checked(event.requestId()) + ".json", toJson(event));
    }

    @Override
    public synchronized List<QueuedEvent> pending() throws IOException {
        List<QueuedEvent> all = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(pending, "*.json")) {
            for (Path f : files) {
                readEvent(f).ifPresent(all::add);
            }
        }
        return all;
    }

    @Override
    public synchronized void remove(QueuedEvent event) throws IOException {
        if (Files.deleteIfExists(pending.resolve(checked(event.requestId()) + ".json"))) {
            syncDirectory(pending);
        }
    }

    @Override
    public synchronized void deadLetter(DeadLetter letter) throws IOException {
        QueuedEvent e = letter.event();
        ObjectNode json = toJson(e);
        json.put("failedAt", letter.failedAt().toString());
        json.put("error", letter.error());
        Path dir = Files.createDirectories(dead.resolve(checked(e.function())));
        syncDirectory(dead);
        write(dir, checked(e.requestId()) + ".json", json);
        remove(e);
    }

    @Override
    public synchronized List<DeadLetter> deadLetters(String function) throws IOException {
        Path dir = dead.resolve(checked(function));
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<DeadLetter> all = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
            for (Path f : files) {
                readEvent(f).ifPresent(e -> {
                    JsonNode json = readTree(f);
                    all.add(new DeadLetter(e, Instant.parse(json.path("failedAt").asText(e.enqueuedAt().toString())),
                            json.path("error").asText(e.lastError().orElse(""))));
                });
            }
        }
        all.sort(Comparator.comparing(DeadLetter::failedAt).thenComparing(l -> l.event().requestId()));
        return all;
    }

    @Override
    public synchronized int clearDeadLetters(String function) throws IOException {
        Path dir = dead.resolve(checked(function));
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int n = 0;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.json")) {
            for (Path f : files) {
                Files.deleteIfExists(f);
                n++;
            }
        }
        syncDirectory(dir);
        return n;
    }

    // ---- files ---------------------------------------------------------------------------------

    private static void write(Path dir, String name, ObjectNode json) throws IOException {
        Path target = dir.resolve(name);
        Path tmp = dir.resolve("." + name + TMP);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer bytes = ByteBuffer.wrap(Json.write(json));
            while (bytes.hasRemaining()) {
                ch.write(bytes);
            }
            ch.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        syncDirectory(dir);
    }

    /** Makes a rename or delete in {@code dir} durable (its entry, not only the file's data). */
    private static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static ObjectNode toJson(QueuedEvent e) {
        ObjectNode json = Json.mapper().createObjectNode();
        json.put("requestId", e.requestId());
        json.put("function", e.function());
        e.qualifier().ifPresent(q -> json.put("qualifier", q));
        json.put("enqueuedAt", e.enqueuedAt().toString());
        json.put("attempts", e.attempts());
        json.put("nextAttemptAt", e.nextAttemptAt().toString());
        e.lastError().ifPresent(err -> json.put("lastError", err));
        json.put("payload", Base64.getEncoder().encodeToString(e.payload()));
        return json;
    }

    /** @return the event as the queue's files hold it (JSON, the payload in base64) */
    static byte[] encode(QueuedEvent e) {
        return Json.write(toJson(e));
    }

    /** @return the event {@link #encode} made */
    static QueuedEvent decode(byte[] bytes) throws IOException {
        return fromJson(Json.mapper().readTree(bytes));
    }

    private static QueuedEvent fromJson(JsonNode j) {
        return new QueuedEvent(j.path("requestId").asText(), j.path("function").asText(),
                j.hasNonNull("qualifier") ? Optional.of(j.get("qualifier").asText()) : Optional.empty(),
                Base64.getDecoder().decode(j.path("payload").asText("")),
                Instant.parse(j.path("enqueuedAt").asText()), j.path("attempts").asInt(),
                Instant.parse(j.path("nextAttemptAt").asText()),
                j.hasNonNull("lastError") ? Optional.of(j.get("lastError").asText()) : Optional.empty());
    }

    /** @return the event in {@code file}; empty (and logged) when the file is gone or unreadable */
    private static Optional<QueuedEvent> readEvent(Path file) {
        try {
            return Optional.of(fromJson(Json.mapper().readTree(Files.readAllBytes(file))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "event file " + file + " is unreadable and is skipped: " + e.getMessage());
            return Optional.empty();
        }
    }

    private static JsonNode readTree(Path file) {
        try {
            return Json.mapper().readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            return Json.mapper().createObjectNode();
        }
    }

    private static String checked(String name) {
        if (!SAFE.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' cannot name an event file");
        }
        return name;
    }
}
