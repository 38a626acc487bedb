package dev.thaw.node.function;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.thaw.core.FileTrees;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The node's deployments on disk: {@code dataDir/functions/NAME/vN/{deployment.json, code/}} plus
 * {@code NAME/last-version}, so versions keep growing across deletes and node restarts, and
 * {@code NAME/aliases.json}, the function's aliases (name to version).
 *
 * <p>Every deploy is a new version and older versions stay invocable: the store keeps each
 * version's directory until the node retires it ({@link #prunable}, {@link #forget}), which it does
 * for versions that are neither among the last few nor the target of an alias.
 *
 * <p>A deploy checks the archive before anything is written (a zip with entries; for Java the
 * handler class present at the root, under {@code BOOT-INF/classes} or in a library JAR under
 * {@code lib/} or {@code BOOT-INF/lib}; for a custom runtime an executable {@code bootstrap}),
 * unpacks it into a temporary directory, checks a Java handler's method against the unpacked class
 * files ({@link HandlerCheck}) and renames that directory into place, so a failed deploy leaves the
 * previous version untouched.
 */
public final class FunctionStore {
    /** The executable a custom runtime ({@code runtime: provided}) starts with, as on Lambda. */
    public static final String BOOTSTRAP = "bootstrap";
    private static final String ALIASES = "aliases.json";

    private final Path root;
    /** Every stored version of every function, by name then version. */
    private final Map<String, NavigableMap<Long, Deployment>> versions = new ConcurrentHashMap<>();
    /** Each function's aliases, alias name to version. Guarded by this. */
    private final Map<String, Map<String, Long>> aliases = new ConcurrentHashMap<>();

    public FunctionStore(Path dataDir) throws IOException {
        this.root = dataDir.resolve("functions");
        Files.createDirectories(root);
        load();
    }

    /** @return the function's latest version */
    public Optional<Deployment> get(String name) {
        NavigableMap<Long, Deployment> all = versions.get(name);
        return all == null || all.isEmpty() ? Optional.empty() : Optional.of(all.lastEntry().getValue());
    }

    /** @return one version of the function, if it is stored */
    public Optional<Deployment> version(String name, long version) {
        NavigableMap<Long, Deployment> all = versions.get(name);
        return all == null ? Optional.empty() : Optional.ofNullable(all.get(version));
    }

    /** @return every stored version of the function, oldest first */
    public List<Deployment> versions(String name) {
        NavigableMap<Long, Deployment> all = versions.get(name);
        return all == null ? List.of() : List.copyOf(all.values());
    }

    /** @return the latest version of every function, sorted by name */
    public List<Deployment> list() {
        return versions.keySet().stream().sorted().map(this::get).flatMap(Optional::stream).toList();
    }

    /** @return the function's aliases, alias name to version, sorted by alias */
    public synchronized java.util.SortedMap<String, Long> aliases(String name) {
        return new TreeMap<>(aliases.getOrDefault(name, Map.of()));
    }

    /** @return the version {@code alias} points to, if the function has that alias */
    public synchronized Optional<Long> alias(String name, String alias) {
        return Optional.ofNullable(aliases.getOrDefault(name, Map.of()).get(alias));
    }

    /**
     * Creates or moves an alias, durably.
     *
     * @return the version the alias pointed to before, if it existed
     * @throws ThawException {@code FunctionNotFound} when the function or that version is not stored,
     *     {@code InvalidRequest} for an invalid alias name
     */
    public synchronized Optional<Long> setAlias(String name, String alias, long version) {
        checkAlias(alias);
        if (get(name).isEmpty()) {
            throw ThawException.functionNotFound(name);
        }
        if (version(name, version).isEmpty()) {
            throw new ThawException(dev.thaw.core.ErrorType.FunctionNotFound, "function '" + name + "' has no version "
                    + version + " (stored: " + versions.get(name).keySet() + ")");
        }
        Map<String, Long> next = new TreeMap<>(aliases.getOrDefault(name, Map.of()));
        Long before = next.put(alias, version);
        writeAliases(name, next);
        return Optional.ofNullable(before);
    }

    /** @throws ThawException {@code InvalidRequest} naming the alias when it is not a valid alias name */
    public static void checkAlias(String alias) {
        if (!FunctionRef.isValidAlias(alias)) {
            throw ThawException.invalidRequest("'%s' is not a valid alias name: use 1-128 letters, digits, '-' or '_',"
                    + " not all digits", alias);
        }
    }

    /** Deletes an alias, durably. @return the version it pointed to, empty when there was no such alias */
    public synchronized Optional<Long> deleteAlias(String name, String alias) {
        Map<String, Long> next = new TreeMap<>(aliases.getOrDefault(name, Map.of()));
        Long before = next.remove(alias);
        if (before != null) {
            writeAliases(name, next);
        }
        return Optional.ofNullable(before);
    }

    private void writeAliases(String name, Map<String, Long> next) {
        Path file = functionDir(name).resolve(ALIASES);
        try {
            Path tmp = file.resolveSibling("." + ALIASES + ".tmp");
            Files.write(tmp, Json.write(next));
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new ThawException(dev.thaw.core.ErrorType.InternalError,
                    "cannot store the aliases of function '" + name + "': " + e.getMessage(), e);
        }
        aliases.put(name, Map.copyOf(next));
    }

    /**
     * Which of the function's versions the node may retire: all but the newest {@code keepLast} and
     * every version an alias points to.
     *
     * @return those versions' deployments, oldest first
     */
    public synchronized List<Deployment> prunable(String name, int keepLast) {
        NavigableMap<Long, Deployment> all = versions.get(name);
        if (all == null) {
            return List.of();
        }
        java.util.Set<Long> keep = retained(all.navigableKeySet(), aliases.getOrDefault(name, Map.of()).values(), keepLast);
        return all.values().stream().filter(d -> !keep.contains(d.version())).toList();
    }

    /**
     * The retention rule on its own: the newest {@code keepLast} versions and every aliased one.
     *
     * @return the versions kept
     */
    static java.util.Set<Long> retained(java.util.SortedSet<Long> stored, java.util.Collection<Long> aliased, int keepLast) {
        if (keepLast < 1) {
            throw new IllegalArgumentException("keepLast must be >= 1, got " + keepLast);
        }
        java.util.Set<Long> keep = new java.util.TreeSet<>(aliased);
        keep.retainAll(stored);
        stored.reversed().stream().limit(keepLast).forEach(keep::add);
        return keep;
    }

    /**
     * Forgets one version that is not the latest and deletes its files (code, metadata, snapshot
     * metadata). The node calls this once the version's instances are gone.
     *
     * @throws IllegalStateException for the latest version, or one an alias points to
     */
    public synchronized void forget(Deployment d) {
        NavigableMap<Long, Deployment> all = versions.get(d.name());
        if (all == null || !all.containsKey(d.version())) {
            return;
        }
        if (all.lastKey() == d.version()) {
            throw new IllegalStateException("version " + d.version() + " of '" + d.name() + "' is the latest");
        }
        if (aliases.getOrDefault(d.name(), Map.of()).containsValue(d.version())) {
            throw new IllegalStateException("version " + d.version() + " of '" + d.name() + "' has an alias");
        }
        all.remove(d.version());
        FileTrees.deleteQuietly(d.dir());
    }

    public Path functionDir(String name) {
        return root.resolve(name);
    }

    /**
     * Checks a deploy as {@link #deploy} would, without storing anything: a cluster checks the code
     * before etcd gives it a version, so that no node is told of a version that cannot run.
     *
     * @return the validated manifest
     * @throws ThawException {@code InvalidDeployment} or {@code InvalidRequest} naming what is wrong
     */
    public FunctionManifest check(FunctionManifest requested, byte[] code) {
        FunctionManifest manifest = requested.validated();
        if (code == null || code.length == 0) {
            throw ThawException.invalidDeployment("no code was uploaded for function '%s'", manifest.name());
        }
        inspect(manifest, code);
        if (manifest.runtime().equals("provided")) {
            return manifest;
        }
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory(root, ".check-");
            unpack(code, tmp);
            try (HandlerCheck.ArchiveClasses classes = new HandlerCheck.ArchiveClasses(tmp)) {
                HandlerCheck.check(manifest.handler(), manifest.scalingOrDefault().freshen(), classes);
            }
            return manifest;
        } catch (IOException e) {
            throw new ThawException(dev.thaw.core.ErrorType.InternalError,
                    "cannot check function '" + manifest.name() + "': " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                FileTrees.deleteQuietly(tmp);
            }
        }
    }

    public synchronized Deployment deploy(FunctionManifest requested, byte[] code) {
        return install(requested, code, lastVersion(functionDir(requested.name())) + 1, Instant.now());
    }

    /**
     * Installs a version numbered elsewhere (a cluster's registry orders versions, not this node):
     * the same checks and layout as {@link #deploy}, under the given number. Installing a version
     * already here returns it unchanged, so a node that hears of its own deploy does nothing twice.
     *
     * @throws ThawException {@code InvalidDeployment} for code that cannot run
     */
    public synchronized Deployment install(FunctionManifest requested, byte[] code, long version, Instant deployedAt) {
        Optional<Deployment> present = version(requested.name(), version);
        if (present.isPresent()) {
            return present.get();
        }
        FunctionManifest manifest = requested.validated();
        if (code == null || code.length == 0) {
            throw ThawException.invalidDeployment("no code was uploaded for function '%s'", manifest.name());
        }
        Layout layout = inspect(manifest, code);
        Path fnDir = functionDir(manifest.name());
        Path dir = fnDir.resolve("v" + version);
        Path tmp = fnDir.resolve(".incoming-v" + version);
        try {
            FileTrees.deleteQuietly(tmp);
            Files.createDirectories(tmp.resolve("code"));
            unpack(code, tmp.resolve("code"));
            if (manifest.runtime().equals("provided")) {
                tmp.resolve("code").resolve(BOOTSTRAP).toFile().setExecutable(true, false);
            } else {
                try (HandlerCheck.ArchiveClasses classes = new HandlerCheck.ArchiveClasses(tmp.resolve("code"))) {
                    HandlerCheck.check(manifest.handler(), manifest.scalingOrDefault().freshen(), classes);
                }
            }
            Instant now = deployedAt;
            ObjectNode meta = Json.mapper().createObjectNode();
            meta.set("manifest", Json.mapper().valueToTree(manifest));
            meta.put("version", version);
            meta.put("codeSha256", sha256(code));
            meta.put("codeSizeBytes", code.length);
            meta.put("deployedAt", now.toString());
            meta.put("layout", layout.name());
            Path metaFile = tmp.resolve("deployment.json");
            Files.write(metaFile, Json.write(meta));
            restrictToOwner(metaFile);
            Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            Files.writeString(fnDir.resolve("last-version"), Long.toString(Math.max(version, lastVersion(fnDir))));
            Deployment d = read(dir).orElseThrow();
            versions.computeIfAbsent(d.name(), n -> new ConcurrentSkipListMap<>()).put(d.version(), d);
            return d;
        } catch (ThawException e) {
            FileTrees.deleteQuietly(tmp);
            throw e;
        } catch (IOException e) {
            FileTrees.deleteQuietly(tmp);
            throw new ThawException(dev.thaw.core.ErrorType.InternalError,
                    "cannot store function '" + manifest.name() + "': " + e.getMessage(), e);
        }
    }

    /**
     * Deletes every version of the function and its aliases; its log and version counter stay.
     *
     * @return the latest version that was deleted
     */
    public synchronized Optional<Deployment> delete(String name) {
        Optional<Deployment> latest = get(name);
        NavigableMap<Long, Deployment> all = versions.remove(name);
        if (all != null) {
            all.values().forEach(d -> FileTrees.deleteQuietly(d.dir()));
        }
        aliases.remove(name);
        try {
            Files.deleteIfExists(functionDir(name).resolve(ALIASES));
        } catch (IOException e) {
            // an alias file left behind names versions that no longer exist: load() ignores those
        }
        return latest;
    }

    /** Where a Java function's classes are, which decides its class path. */
    enum Layout { PLAIN, LAMBDA_LIB, SPRING_BOOT, PROVIDED }

    private static Layout inspect(FunctionManifest manifest, byte[] code) {
        List<String> entries = new ArrayList<>();
        List<byte[]> libraries = new ArrayList<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(code))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                entries.add(e.getName());
                if (!e.isDirectory() && e.getName().endsWith(".jar")
                        && (e.getName().startsWith("lib/") || e.getName().startsWith("BOOT-INF/lib/"))) {
                    libraries.add(zip.readAllBytes());
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            throw ThawException.invalidDeployment("the code of function '%s' is not a valid JAR or zip archive: %s",
                    manifest.name(), e.getMessage());
        }
        if (entries.isEmpty()) {
            throw ThawException.invalidDeployment(
                    "the code of function '%s' is not a JAR or zip archive (no entries could be read)", manifest.name());
        }
        if (manifest.runtime().equals("provided")) {
            if (!entries.contains(BOOTSTRAP)) {
                throw ThawException.invalidDeployment("a custom runtime needs an executable '%s' at the root of the archive",
                        BOOTSTRAP);
            }
            return Layout.PROVIDED;
        }
        String className = manifest.handler().split("::")[0];
        String classFile = className.replace('.', '/') + ".class";
        Layout layout = entries.stream().anyMatch(n -> n.startsWith("BOOT-INF/")) ? Layout.SPRING_BOOT
                : entries.stream().anyMatch(n -> n.startsWith("lib/") && n.endsWith(".jar")) ? Layout.LAMBDA_LIB
                : Layout.PLAIN;
        boolean found = entries.contains(classFile) || entries.contains("BOOT-INF/classes/" + classFile)
                || libraries.stream().anyMatch(lib -> containsEntry(lib, classFile));
        if (!found) {
            throw ThawException.invalidDeployment("handler class '%s' is not in the code of function '%s' "
                    + "(looked for %s at the root, under BOOT-INF/classes and in the JARs under lib/ and BOOT-INF/lib)",
                    className, manifest.name(), classFile);
        }
        return layout;
    }

    private static boolean containsEntry(byte[] jar, String name) {
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(jar))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                if (e.getName().equals(name)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static void unpack(byte[] code, Path target) throws IOException {
        Path base = target.toAbsolutePath().normalize();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(code))) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                Path out = base.resolve(e.getName()).normalize();
                if (!out.startsWith(base)) {
                    throw ThawException.invalidDeployment("archive entry '%s' points outside the archive", e.getName());
                }
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(zip, out, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private void load() throws IOException {
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path fnDir : dirs.filter(Files::isDirectory).toList()) {
                NavigableMap<Long, Deployment> all = new ConcurrentSkipListMap<>();
                try (Stream<Path> vs = Files.list(fnDir)) {
                    vs.filter(v -> v.getFileName().toString().matches("v[0-9]+") && Files.isDirectory(v))
                            .map(FunctionStore::read).flatMap(Optional::stream)
                            .forEach(d -> all.put(d.version(), d));
                }
                if (all.isEmpty()) {
                    continue;
                }
                String name = all.firstEntry().getValue().name();
                versions.put(name, all);
                Path aliasFile = fnDir.resolve(ALIASES);
                if (Files.exists(aliasFile)) {
                    Map<String, Long> stored = new TreeMap<>();
                    Json.mapper().readTree(aliasFile.toFile()).properties().forEach(e -> {
                        if (e.getValue().canConvertToLong() && all.containsKey(e.getValue().asLong())) {
                            stored.put(e.getKey(), e.getValue().asLong());
                        }
                    });
                    aliases.put(name, Map.copyOf(stored));
                }
            }
        }
    }

    private static Optional<Deployment> read(Path dir) {
        try {
            JsonNode meta = Json.mapper().readTree(dir.resolve("deployment.json").toFile());
            FunctionManifest m = Json.mapper().treeToValue(meta.get("manifest"), FunctionManifest.class);
            Path codeDir = dir.resolve("code");
            Layout layout = Layout.valueOf(meta.path("layout").asText("PLAIN"));
            return Optional.of(new Deployment(m, meta.get("version").asLong(), dir, codeDir, classpath(layout, codeDir),
                    meta.get("codeSha256").asText(), meta.get("codeSizeBytes").asLong(),
                    Instant.parse(meta.get("deployedAt").asText())));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static List<Path> classpath(Layout layout, Path codeDir) throws IOException {
        return switch (layout) {
            case PROVIDED -> List.of();
            case PLAIN -> List.of(codeDir);
            case LAMBDA_LIB -> concat(codeDir, jars(codeDir.resolve("lib")));
            case SPRING_BOOT -> concat(codeDir.resolve("BOOT-INF/classes"), springBootLibraries(codeDir));
        };
    }

    /** Spring Boot lists its libraries in order in classpath.idx; older archives have no index. */
    private static List<Path> springBootLibraries(Path codeDir) throws IOException {
        Path index = codeDir.resolve("BOOT-INF/classpath.idx");
        if (!Files.exists(index)) {
            return jars(codeDir.resolve("BOOT-INF/lib"));
        }
        return Files.readAllLines(index, StandardCharsets.UTF_8).stream()
                .map(l -> l.replaceFirst("^- ", "").replace("\"", "").strip())
                .filter(l -> !l.isEmpty())
                .map(codeDir::resolve)
                .toList();
    }

    private static List<Path> jars(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".jar")).sorted().toList();
        }
    }

    private static List<Path> concat(Path first, List<Path> rest) {
        List<Path> all = new ArrayList<>();
        all.add(first);
        all.addAll(rest);
        return List.copyOf(all);
    }

    private static long lastVersion(Path fnDir) {
        try {
            return Long.parseLong(Files.readString(fnDir.resolve("last-version")).strip());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** @return the lowercase hex SHA-256 of {@code code}, as deployments record it */
    public static String sha256(byte[] code) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(code));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static void restrictToOwner(Path file) {
        // The manifest holds environment values, which may be secrets.
        file.toFile().setReadable(false, false);
        file.toFile().setReadable(true, true);
    }

    /** @return the sizes of the regular files under {@code dir} summed, 0 if it is gone */
    public static long sizeOf(Path dir) {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException | UncheckedIOException e) {
            return 0;
        }
    }

}
