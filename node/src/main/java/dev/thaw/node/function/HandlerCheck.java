package dev.thaw.node.function;

import dev.thaw.core.ThawException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/*
 * Deploy-time check of a Java handler against the class files of its archive, so that a misspelt
 * method is refused at deploy, naming what the class has, instead of surfacing later as "exited
 * during init". It mirrors what the runtime's HandlerLoader accepts:
 *
 * - Class::method: a public method of that name, on the class or inherited (a superclass's, an
 *   interface's default method; java.lang.Object's do not count), taking (event), (event, Context),
 *   (InputStream, OutputStream) or (InputStream, OutputStream, Context);
 * - Class alone: the class implements RequestHandler, RequestStreamHandler, java.util.function.Function
 *   or thaw's Handler (directly or through its supertypes), or declares exactly one public method.
 *
 * - a freshen method named in the manifest (for a handler that does not implement dev.thaw.api.Freshen,
 *   whose own freshen is called instead): a public method of that name taking nothing or a
 *   dev.thaw.api.FreshenContext.
 *
 * The class and its supertypes are read from the archive (root, BOOT-INF/classes, the JARs under
 * lib/ and BOOT-INF/lib). What cannot be decided is accepted, so the check never refuses a handler
 * the runtime would load: a supertype that is not in the archive (a library the archive does not
 * carry, or the JDK) may declare the method or implement a known shape, so when the answer depends
 * on one, the deploy goes ahead and the runtime decides at init. The only supertypes known without
 * their class files are java.lang.Object and the four handler interfaces, whose methods are fixed.
 * A class file this reader cannot parse is accepted likewise.
 */
/** Checks a Java handler's class and method against the class files of the deployed archive. */
final class HandlerCheck {
    static final String OBJECT = "java/lang/Object";
    /** The handler interfaces the runtime knows, with their default methods (none but Function's). */
    private static final Map<String, Set<String>> KNOWN_SHAPES = Map.of(
            "com/amazonaws/services/lambda/runtime/RequestHandler", Set.of(),
            "com/amazonaws/services/lambda/runtime/RequestStreamHandler", Set.of(),
            "java/util/function/Function", Set.of("andThen", "compose"),
            "dev/thaw/api/Handler", Set.of());
    private static final Set<String> CONTEXTS = Set.of(
            "Lcom/amazonaws/services/lambda/runtime/Context;", "Ldev/thaw/api/InvocationContext;");
    private static final String IN = "Ljava/io/InputStream;";
    private static final String FRESHEN = "dev/thaw/api/Freshen";
    private static final String FRESHEN_CONTEXT = "Ldev/thaw/api/FreshenContext;";
    private static final String OUT = "Ljava/io/OutputStream;";

    /** Where class files are looked up: the archive's classes, by internal name. */
    interface Classes {
        /** @return the bytes of class {@code internalName}, e.g. {@code com/example/Hello}, if the archive has it */
        Optional<byte[]> find(String internalName);
    }

    private HandlerCheck() {
    }

    /**
     * @param handler {@code pkg.Class::method} or {@code pkg.Class}
     * @param freshen the freshen method the manifest names, or null for none
     * @param classes the archive's classes
     * @throws ThawException {@code InvalidDeployment} when the archive shows the runtime would not find
     *     the handler or the freshen method
     */
    static void check(String handler, String freshen, Classes classes) {
        int sep = handler.indexOf("::");
        String className = sep < 0 ? handler : handler.substring(0, sep);
        Optional<ClassFile> type = classes.find(className.replace('.', '/')).flatMap(ClassFile::parse);
        if (type.isEmpty()) {
            return; // absent was refused before; unreadable: the runtime decides
        }
        Hierarchy h = Hierarchy.of(type.get(), classes);
        if (sep < 0) {
            checkShape(className, h);
        } else {
            checkMethod(className, handler.substring(sep + 2), h);
        }
        if (freshen != null && !freshen.isBlank()) {
            checkFreshen(className, freshen, h);
        }
    }

    private static void checkFreshen(String className, String name, Hierarchy h) {
        if (h.supertypes().contains(FRESHEN) || !h.complete()) {
            // its own freshen is called instead; or a supertype outside the archive may declare it
            return;
        }
        List<ClassFile.Method> named = h.inherited().filter(m -> m.name().equals(name)).toList();
        if (named.stream().anyMatch(m -> m.isPublic() && !m.isGenerated() && (m.parameters().isEmpty()
                || m.parameters().equals(List.of(FRESHEN_CONTEXT))))) {
            return;
        }
        throw refusal("freshen", name, className, named, h, "nothing or a dev.thaw.api.FreshenContext");
    }

    private static void checkMethod(String className, String name, Hierarchy h) {
        List<ClassFile.Method> named = h.inherited().filter(m -> m.name().equals(name)).toList();
        if (named.stream().anyMatch(m -> m.isPublic() && !m.isGenerated() && takesSupportedParameters(m))
                || h.knownDefaults().contains(name)) {
            return;
        }
        if (!h.complete()) {
            // A supertype outside the archive (a library or the JDK) may declare it: the runtime decides.
            return;
        }
        throw refusal("handler", name, className, named, h,
                "(event), (event, Context), (InputStream, OutputStream) or (InputStream, OutputStream, Context)");
    }

    /**
     * @param role what the method is for ({@code handler}, {@code freshen})
     * @param named the class's methods of that name, possibly none
     * @param takes the parameter lists the runtime accepts for the role, in words
     * @return why the runtime would not find the method: absent (naming what the class has), not
     *     public, or taking other parameters
     */
    private static ThawException refusal(String role, String name, String className, List<ClassFile.Method> named,
                                         Hierarchy h, String takes) {
        if (named.isEmpty()) {
            return ThawException.invalidDeployment("%s method '%s' is not in class '%s' (%s)", role, name, className,
                    publicMethods(h.type()));
        }
        if (named.stream().noneMatch(ClassFile.Method::isPublic)) {
            return ThawException.invalidDeployment("%s method '%s' of class '%s' is not public", role, name, className);
        }
        return ThawException.invalidDeployment("%s method '%s' of class '%s' takes %s: a %s method takes %s", role, name,
                className, parameterLists(named), role, takes);
    }

    /** @return the public methods' parameter lists, as {@code (int, int) or (String)} */
    private static String parameterLists(List<ClassFile.Method> methods) {
        return String.join(" or ", methods.stream().filter(ClassFile.Method::isPublic)
                .map(m -> "(" + String.join(", ", m.parameters().stream().map(HandlerCheck::simpleName).toList()) + ")")
                .distinct().toList());
    }

    private static void checkShape(String className, Hierarchy h) {
        if (h.implementsKnownShape() || !h.complete()) {
            // an unknown supertype may implement a known shape: the runtime decides
            return;
        }
        List<String> own = h.type().methods().stream().filter(m -> m.isPublic() && !m.isGenerated() && !m.isInitializer())
                .map(ClassFile.Method::name).toList();
        if (own.size() != 1) {
            throw ThawException.invalidDeployment("handler class '%s' implements no known handler interface (RequestHandler,"
                    + " RequestStreamHandler, java.util.function.Function, dev.thaw.api.Handler) and declares %d public methods%s:"
                    + " name one as %s::method", className, own.size(),
                    own.isEmpty() ? "" : " (" + String.join(", ", new TreeSet<>(own)) + ")", className);
        }
    }

    private static boolean takesSupportedParameters(ClassFile.Method m) {
        List<String> p = m.parameters();
        return switch (p.size()) {
            case 0, 1 -> true;
            case 2 -> CONTEXTS.contains(p.get(1)) || (p.get(0).equals(IN) && p.get(1).equals(OUT));
            case 3 -> p.get(0).equals(IN) && p.get(1).equals(OUT) && CONTEXTS.contains(p.get(2));
            default -> false;
        };
    }

    private static String publicMethods(ClassFile type) {
        Set<String> names = new TreeSet<>();
        type.methods().stream().filter(m -> m.isPublic() && !m.isGenerated() && !m.isInitializer())
                .forEach(m -> names.add(m.name()));
        return names.isEmpty() ? "it declares no public methods" : "it declares: " + String.join(", ", names);
    }

    /** {@code Ljava/lang/String;} as {@code String}, {@code [I} as {@code int[]}. */
    private static String simpleName(String descriptor) {
        int dims = 0;
        while (descriptor.charAt(dims) == '[') {
            dims++;
        }
        String base = descriptor.substring(dims);
        String name = switch (base.charAt(0)) {
            case 'L' -> base.substring(base.lastIndexOf('/') + 1, base.length() - 1);
            case 'Z' -> "boolean";
            case 'B' -> "byte";
            case 'C' -> "char";
            case 'S' -> "short";
            case 'I' -> "int";
            case 'J' -> "long";
            case 'F' -> "float";
            case 'D' -> "double";
            default -> base;
        };
        return name + "[]".repeat(dims);
    }

    /**
     * The class and every supertype the archive holds, and what is known beyond it.
     *
     * @param type the handler class
     * @param found the class's supertypes found in the archive (the class first)
     * @param knownShapes known handler interfaces among its supertypes
     * @param complete whether every supertype is either in the archive, {@code java/lang/Object} or a known shape
     * @param supertypes the names of all its supertypes, found or not
     */
    private record Hierarchy(ClassFile type, List<ClassFile> found, Set<String> knownShapes, boolean complete,
                             Set<String> supertypes) {
        static Hierarchy of(ClassFile type, Classes classes) {
            List<ClassFile> found = new ArrayList<>();
            Set<String> shapes = new HashSet<>();
            boolean complete = true;
            Set<String> seen = new HashSet<>();
            Deque<ClassFile> todo = new ArrayDeque<>(List.of(type));
            seen.add(type.name());
            while (!todo.isEmpty()) {
                ClassFile c = todo.poll();
                found.add(c);
                List<String> supers = new ArrayList<>(c.interfaces());
                c.superName().ifPresent(supers::add);
                for (String s : supers) {
                    if (!seen.add(s) || s.equals(OBJECT)) {
                        continue;
                    }
                    if (KNOWN_SHAPES.containsKey(s)) {
                        shapes.add(s);
                        continue;
                    }
                    Optional<ClassFile> parsed = classes.find(s).flatMap(ClassFile::parse);
                    if (parsed.isPresent()) {
                        todo.add(parsed.get());
                    } else {
                        complete = false;
                    }
                }
            }
            return new Hierarchy(type, found, shapes, complete, Set.copyOf(seen));
        }

        boolean implementsKnownShape() {
            return !knownShapes.isEmpty();
        }

        /**
         * @return the methods a {@code getMethods()} of the class could include, by name: the
         *     class's and its superclasses', and its interfaces' non-static ones
         */
        Stream<ClassFile.Method> inherited() {
            return found.stream().flatMap(c -> c.methods().stream()
                    .filter(m -> !m.isInitializer() && !(c.isInterface() && m.isStatic() && c != type)));
        }

        /** @return default methods of the known handler interfaces the class implements */
        Set<String> knownDefaults() {
            Set<String> out = new HashSet<>();
            knownShapes.forEach(s -> out.addAll(KNOWN_SHAPES.get(s)));
            return out;
        }
    }

    /**
     * The classes of an unpacked archive: at its root, under {@code BOOT-INF/classes}, then in the
     * JARs under {@code lib/} and {@code BOOT-INF/lib}, as the deploy's inspection finds the
     * handler class. Library JARs are opened when a class is not found before them; close it after.
     */
    static final class ArchiveClasses implements Classes, AutoCloseable {
        private final Path codeDir;
        private final Map<Path, ZipFile> libraries = new LinkedHashMap<>();
        private List<Path> libraryPaths;

        ArchiveClasses(Path codeDir) {
            this.codeDir = codeDir;
        }

        @Override
        public Optional<byte[]> find(String internalName) {
            String entry = internalName + ".class";
            try {
                for (Path dir : List.of(codeDir, codeDir.resolve("BOOT-INF/classes"))) {
                    Path file = dir.resolve(entry).normalize();
                    if (file.startsWith(codeDir) && Files.isRegularFile(file)) {
                        return Optional.of(Files.readAllBytes(file));
                    }
                }
                for (Path jar : libraryPaths()) {
                    ZipFile zip = library(jar);
                    ZipEntry e = zip == null ? null : zip.getEntry(entry);
                    if (e != null) {
                        try (var in = zip.getInputStream(e)) {
                            return Optional.of(in.readAllBytes());
                        }
                    }
                }
            } catch (IOException | UncheckedIOException e) {
                return Optional.empty(); // unreadable: not decided here
            }
            return Optional.empty();
        }

        private List<Path> libraryPaths() throws IOException {
            if (libraryPaths == null) {
                List<Path> jars = new ArrayList<>();
                for (Path dir : List.of(codeDir.resolve("lib"), codeDir.resolve("BOOT-INF/lib"))) {
                    if (Files.isDirectory(dir)) {
                        try (Stream<Path> files = Files.list(dir)) {
                            files.filter(f -> f.toString().endsWith(".jar")).sorted().forEach(jars::add);
                        }
                    }
                }
                libraryPaths = jars;
            }
            return libraryPaths;
        }

        private ZipFile library(Path jar) {
            return libraries.computeIfAbsent(jar, j -> {
                try {
                    return new ZipFile(j.toFile());
                } catch (IOException e) {
                    return null; // not a readable JAR: its classes are unknown
                }
            });
        }

        @Override
        public void close() {
            for (ZipFile z : libraries.values()) {
                try {
                    if (z != null) {
                        z.close();
                    }
                } catch (IOException ignored) {
                    // read-only: nothing to lose
                }
            }
        }
    }
}
