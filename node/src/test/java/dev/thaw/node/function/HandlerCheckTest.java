package dev.thaw.node.function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.ThawException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Handlers checked at deploy against real class files, compiled here, in every archive layout: a
 * method that the class does not have is refused naming what it has; what depends on a class
 * outside the archive is accepted.
 */
class HandlerCheckTest {
    private static final Map<String, String> SOURCES = new LinkedHashMap<>();

    static {
        SOURCES.put("demo/Greeter", """
                package demo;
                public class Greeter {
                    public String handle(String name) { return "hi " + name; }
                    @Override public String toString() { return "Greeter"; }
                    private void helper() { }
                }""");
        SOURCES.put("demo/Base", """
                package demo;
                public class Base {
                    public String handle(java.util.Map<String, Object> in) { return "base"; }
                }""");
        SOURCES.put("demo/Child", """
                package demo;
                public class Child extends Base {
                    public int size() { return 0; }
                }""");
        SOURCES.put("demo/Greets", """
                package demo;
                public interface Greets {
                    default String greet(String name) { return "hello " + name; }
                    static Greets create() { return new Polite(); }
                }""");
        SOURCES.put("demo/Polite", """
                package demo;
                public class Polite implements Greets {
                }""");
        SOURCES.put("demo/Hidden", """
                package demo;
                public class Hidden {
                    String secret(String in) { return in; }
                    public String open(String in) { return in; }
                }""");
        SOURCES.put("demo/Adder", """
                package demo;
                public class Adder {
                    public int add(int a, int b) { return a + b; }
                    public String echo(java.io.InputStream in, java.io.OutputStream out,
                                       com.amazonaws.services.lambda.runtime.Context ctx) { return ""; }
                    public String described(java.util.Map<String, Object> in, com.amazonaws.services.lambda.runtime.Context ctx) {
                        return "";
                    }
                }""");
        SOURCES.put("demo/Upper", """
                package demo;
                public class Upper implements java.util.function.Function<String, String> {
                    public String apply(String s) { return s.toUpperCase(); }
                    public String other() { return ""; }
                }""");
        SOURCES.put("demo/Two", """
                package demo;
                public class Two {
                    public String a(String s) { return s; }
                    public String b(String s) { return s; }
                }""");
        SOURCES.put("demo/One", """
                package demo;
                public class One {
                    public static String only(String s) { return s; }
                    private String notCounted() { return ""; }
                }""");
        SOURCES.put("demo/Mapper", """
                package demo;
                public abstract class Mapper implements java.util.function.Function<String, String> {
                }""");
        SOURCES.put("demo/ViaMapper", """
                package demo;
                public class ViaMapper extends Mapper {
                    public String apply(String s) { return s; }
                    public String extra() { return ""; }
                }""");
        SOURCES.put("demo/Listed", """
                package demo;
                public class Listed extends java.util.AbstractList<String> {
                    public String get(int i) { return ""; }
                    public int size() { return 0; }
                }""");
        SOURCES.put("demo/Warmed", """
                package demo;
                public class Warmed {
                    public String handle(String in) { return in; }
                    public void warm() { }
                    public void prime(dev.thaw.api.FreshenContext ctx) { }
                    public void bad(int times) { }
                    void hidden() { }
                }""");
        SOURCES.put("demo/SelfFreshened", """
                package demo;
                public class SelfFreshened implements dev.thaw.api.Freshen {
                    public String handle(String in) { return in; }
                }""");
        SOURCES.put("demo/WarmedChild", """
                package demo;
                public class WarmedChild extends Warmed {
                }""");
        SOURCES.put("dev/thaw/api/Freshen", """
                package dev.thaw.api;
                public interface Freshen { }""");
        SOURCES.put("dev/thaw/api/FreshenContext", """
                package dev.thaw.api;
                public interface FreshenContext { }""");
        SOURCES.put("com/amazonaws/services/lambda/runtime/Context", """
                package com.amazonaws.services.lambda.runtime;
                public interface Context { }""");
    }

    private static Map<String, byte[]> classes;

    @TempDir
    Path data;

    @BeforeAll
    static void compile(@TempDir Path dir) throws IOException {
        Path src = dir.resolve("src");
        Path out = dir.resolve("classes");
        List<String> files = new ArrayList<>();
        for (var e : SOURCES.entrySet()) {
            Path f = src.resolve(e.getKey() + ".java");
            Files.createDirectories(f.getParent());
            Files.writeString(f, e.getValue());
            files.add(f.toString());
        }
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-nowarn"));
        args.addAll(files);
        assertThat(javac.run(null, null, null, args.toArray(String[]::new))).as("javac").isZero();
        classes = new LinkedHashMap<>();
        try (Stream<Path> all = Files.walk(out)) {
            for (Path p : all.filter(Files::isRegularFile).toList()) {
                String name = out.relativize(p).toString();
                classes.put(name.substring(0, name.length() - ".class".length()), Files.readAllBytes(p));
            }
        }
    }

    /** @return a zip of the named classes, each under {@code prefix} */
    private static byte[] jar(String prefix, String... names) {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (String n : names) {
            entries.put(prefix + n + ".class", classes.get(n));
        }
        return zip(entries);
    }

    private static byte[] zip(Map<String, byte[]> entries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private Deployment deploy(String handler, byte[] code) throws IOException {
        return new FunctionStore(data).deploy(new FunctionManifest("f", handler, null, null, null, null, null, null), code);
    }

    private void refused(String handler, byte[] code, String message) throws IOException {
        FunctionStore store = new FunctionStore(data);
        assertThatThrownBy(() -> store.deploy(new FunctionManifest("refused", handler, null, null, null, null, null, null), code))
                .isInstanceOf(ThawException.class)
                .satisfies(e -> assertThat(((ThawException) e).type()).isEqualTo(ErrorType.InvalidDeployment))
                .hasMessage(message);
        assertThat(store.get("refused")).as("nothing deployed").isEmpty();
        try (Stream<Path> left = Files.walk(data.resolve("functions"))) {
            assertThat(left.filter(p -> p.getFileName().toString().startsWith(".incoming"))).as("no staging left").isEmpty();
        }
    }

    @Test
    void aMethodTheClassDoesNotHaveIsRefusedNamingTheMethodsItDeclares() throws IOException {
        refused("demo.Greeter::handel", jar("", "demo/Greeter"),
                "handler method 'handel' is not in class 'demo.Greeter' (it declares: handle, toString)");
        assertThat(deploy("demo.Greeter::handle", jar("", "demo/Greeter")).version()).isEqualTo(1);
    }

    @Test
    void methodsOfSuperclassesAndInterfacesInTheArchiveCount() throws IOException {
        byte[] code = jar("", "demo/Child", "demo/Base", "demo/Polite", "demo/Greets");
        assertThatCode(() -> deploy("demo.Child::handle", code)).doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.Child::size", code)).doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.Polite::greet", code)).as("an interface's default method").doesNotThrowAnyException();
        refused("demo.Child::handel", code, "handler method 'handel' is not in class 'demo.Child' (it declares: size)");
        refused("demo.Polite::create", code, "handler method 'create' is not in class 'demo.Polite' (it declares no public methods)");
        refused("demo.Child::toString", code, "handler method 'toString' is not in class 'demo.Child' (it declares: size)");
    }

    @Test
    void aSuperclassOutsideTheArchiveLeavesTheDecisionToTheRuntime() throws IOException {
        assertThatCode(() -> deploy("demo.Child::anything", jar("", "demo/Child"))).as("Base is not in the archive")
                .doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.Listed::anything", jar("", "demo/Listed"))).as("a JDK superclass")
                .doesNotThrowAnyException();
    }

    @Test
    void aMethodThatIsNotPublicOrTakesWhatNoHandlerTakesIsRefused() throws IOException {
        refused("demo.Hidden::secret", jar("", "demo/Hidden"), "handler method 'secret' of class 'demo.Hidden' is not public");
        refused("demo.Adder::add", jar("", "demo/Adder"), "handler method 'add' of class 'demo.Adder' takes (int, int): a"
                + " handler method takes (event), (event, Context), (InputStream, OutputStream) or (InputStream, OutputStream,"
                + " Context)");
        assertThatCode(() -> deploy("demo.Adder::echo", jar("", "demo/Adder"))).doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.Adder::described", jar("", "demo/Adder"))).doesNotThrowAnyException();
    }

    @Test
    void aClassAloneMustHaveAKnownShapeOrOnePublicMethod() throws IOException {
        assertThatCode(() -> deploy("demo.Upper", jar("", "demo/Upper"))).doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.ViaMapper", jar("", "demo/ViaMapper", "demo/Mapper")))
                .as("Function through a superclass in the archive").doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.ViaMapper", jar("", "demo/ViaMapper"))).as("superclass not in the archive")
                .doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.One", jar("", "demo/One"))).doesNotThrowAnyException();
        refused("demo.Two", jar("", "demo/Two"), "handler class 'demo.Two' implements no known handler interface"
                + " (RequestHandler, RequestStreamHandler, java.util.function.Function, dev.thaw.api.Handler) and declares 2"
                + " public methods (a, b): name one as demo.Two::method");
    }

    private Deployment deploy(String handler, String freshen, byte[] code) throws IOException {
        return new FunctionStore(data).deploy(manifest("f", handler, freshen), code);
    }

    private static FunctionManifest manifest(String name, String handler, String freshen) {
        return new FunctionManifest(name, handler, null, null, null, null, null, null, null, null,
                new FunctionManifest.Scaling(null, null, null, null, freshen));
    }

    @Test
    void aFreshenMethodTheRuntimeWouldNotFindIsRefusedAtDeploy() throws IOException {
        byte[] code = jar("", "demo/Warmed");
        assertThatCode(() -> deploy("demo.Warmed::handle", "warm", code)).doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.Warmed::handle", "prime", code)).as("taking a FreshenContext")
                .doesNotThrowAnyException();
        FunctionStore store = new FunctionStore(data);
        for (String[] bad : new String[][] {
                {"warmUp", "freshen method 'warmUp' is not in class 'demo.Warmed' (it declares: bad, handle, prime, warm)"},
                {"bad", "freshen method 'bad' of class 'demo.Warmed' takes (int): a freshen method takes nothing or a"
                        + " dev.thaw.api.FreshenContext"},
                {"hidden", "freshen method 'hidden' of class 'demo.Warmed' is not public"}}) {
            assertThatThrownBy(() -> store.deploy(manifest("refused", "demo.Warmed::handle", bad[0]), code))
                    .isInstanceOf(ThawException.class)
                    .satisfies(e -> assertThat(((ThawException) e).type()).isEqualTo(ErrorType.InvalidDeployment))
                    .hasMessage(bad[1]);
        }
        assertThat(store.get("refused")).as("nothing deployed").isEmpty();
        assertThatCode(() -> deploy("demo.WarmedChild::handle", "warm", jar("", "demo/WarmedChild", "demo/Warmed")))
                .as("inherited").doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.WarmedChild::handle", "anything", jar("", "demo/WarmedChild")))
                .as("a superclass outside the archive: the runtime decides").doesNotThrowAnyException();
        assertThatCode(() -> deploy("demo.SelfFreshened::handle", "anything", jar("", "demo/SelfFreshened")))
                .as("a handler implementing Freshen: its own hook is called, the name is not").doesNotThrowAnyException();
    }

    @Test
    void classesAreFoundInEveryLayout() throws IOException {
        byte[] boot = zip(Map.of(
                "BOOT-INF/classes/demo/Child.class", classes.get("demo/Child"),
                "BOOT-INF/lib/base.jar", jar("", "demo/Base")));
        assertThatCode(() -> deploy("demo.Child::handle", boot)).doesNotThrowAnyException();
        refused("demo.Child::handel", boot, "handler method 'handel' is not in class 'demo.Child' (it declares: size)");

        byte[] lambda = zip(Map.of(
                "lib/child.jar", jar("", "demo/Child"),
                "lib/base.jar", jar("", "demo/Base")));
        assertThatCode(() -> deploy("demo.Child::handle", lambda)).doesNotThrowAnyException();
        refused("demo.Child::handel", lambda, "handler method 'handel' is not in class 'demo.Child' (it declares: size)");
    }

    @Test
    void classFilesThatDoNotParseAreAccepted() {
        assertThat(ClassFile.parse(new byte[] {1})).isEmpty();
        assertThat(ClassFile.parse(classes.get("demo/Adder"))).hasValueSatisfying(c -> {
            assertThat(c.name()).isEqualTo("demo/Adder");
            assertThat(c.superName()).contains("java/lang/Object");
            assertThat(c.methods()).extracting(ClassFile.Method::name).contains("<init>", "add", "echo");
            assertThat(c.methods()).filteredOn(m -> m.name().equals("echo")).singleElement()
                    .satisfies(m -> assertThat(m.parameters()).containsExactly("Ljava/io/InputStream;",
                            "Ljava/io/OutputStream;", "Lcom/amazonaws/services/lambda/runtime/Context;"));
        });
    }
}
