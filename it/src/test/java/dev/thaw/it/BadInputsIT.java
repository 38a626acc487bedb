package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.thaw.client.InvocationResult;
import dev.thaw.core.StartKind;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.ThawException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every bad input gets a clear error naming what was wrong, and the node then still serves a
 * healthy function ({@link #nodeStaysHealthy()} runs after each test).
 */
class BadInputsIT extends WithSnapshotNode {

    @BeforeAll
    static void deployHealthy() {
        node.deploy("healthy", TestNode.TF + "Greeter::handle");
    }

    @AfterEach
    void nodeStaysHealthy() {
        assertThat(node.client.health().get("status").asText()).isEqualTo("ok");
        assertThat(node.invoke("healthy", "{\"name\":\"still\",\"times\":1}").bodyAsString())
                .isEqualTo("{\"message\":\"Hi still\"}");
    }

    @Test
    void unknownFunction() {
        expect(() -> node.invoke("nope", "{}"), ErrorType.FunctionNotFound, "no function named 'nope'");
    }

    @Test
    void codeThatIsNotAJar() throws IOException {
        Path notAJar = Files.createTempFile("not-a-jar", ".jar");
        Files.writeString(notAJar, "this is plain text, not a zip archive");
        try {
            expect(() -> node.deploy("notjar", TestNode.TF + "EchoThaw::handle", notAJar, Map.of(), true, 1000),
                    ErrorType.InvalidDeployment, "not a JAR");
        } finally {
            Files.delete(notAJar);
        }
    }

    @Test
    void handlerClassThatDoesNotExist() {
        expect(() -> node.deploy("noclass", "com.example.Missing::handle"), ErrorType.InvalidDeployment,
                "handler class 'com.example.Missing' is not in the code");
    }

    /** Refused at deploy, from the archive's class files, naming what the class has: never an "exited during init". */
    @Test
    void handlerMethodThatDoesNotExist() {
        expect(() -> node.deploy("nomethod", TestNode.TF + "EchoThaw::nothingHere"), ErrorType.InvalidDeployment,
                "handler method 'nothingHere' is not in class 'dev.thaw.testfunctions.EchoThaw' (it declares: handle)");
        expect(() -> node.invoke("nomethod", "{}"), ErrorType.FunctionNotFound, "no function named 'nomethod'");
    }

    @Test
    void initThatThrows() {
        node.deploy("initthrows", TestNode.TF + "InitThrows::handle");
        FunctionErrorException e = functionError(() -> node.invoke("initthrows", "{}"), ErrorType.FunctionInitError);
        assertThat(e.functionErrorType()).isEqualTo("java.lang.IllegalStateException");
        assertThat(e.getMessage()).contains("init failed on purpose");
        FunctionInfo.SnapshotInfo snapshot = node.client.describe("initthrows").snapshot();
        assertThat(snapshot.state()).isEqualTo("failed");
        assertThat(snapshot.reason()).as("describe says why, as the invocation did").contains("init failed on purpose");
        // and again: every cold start reports it, none hangs
        functionError(() -> node.invoke("initthrows", "{}"), ErrorType.FunctionInitError);
    }

    @Test
    void handlerThatThrows() {
        node.deploy("throws", TestNode.TF + "HandlerThrows::handle");
        FunctionErrorException e = functionError(() -> node.invoke("throws", "{\"x\":1}"), ErrorType.FunctionError);
        assertThat(e.functionErrorType()).isEqualTo("java.lang.IllegalArgumentException");
        assertThat(e.getMessage()).contains("bad input");
        assertThat(e.functionStackTrace()).isNotEmpty();
        // the instance survives a handler exception and serves the next call warm
        functionError(() -> node.invoke("throws", "{\"x\":2}"), ErrorType.FunctionError);
        assertThat(node.client.describe("throws").instances().idle()).isEqualTo(1);
    }

    @Test
    void timeout() {
        node.deploy("slow", TestNode.TF + "Sleeper::handle", TestNode.TEST_FUNCTIONS, Map.of(), false, 1_000);
        expect(() -> node.invoke("slow", "{\"ms\":20000}"), ErrorType.FunctionTimeout, "timed out after 1000 ms");
        assertThat(node.invoke("slow", "{\"ms\":10}").bodyAsString()).isEqualTo("{\"slept\":10}");
    }

    @Test
    void instanceThatCrashes() {
        node.deploy("crash", TestNode.TF + "Crasher::handle", TestNode.TEST_FUNCTIONS, Map.of(), false, 10_000);
        expect(() -> node.invoke("crash", "{}"), ErrorType.InstanceCrashed, "exited with code 3");
    }

    @Test
    void oversizedPayload() {
        byte[] big = new byte[6 * 1024 * 1024 + 1];
        java.util.Arrays.fill(big, (byte) ' ');
        big[0] = '1';
        expect(() -> node.client.invoke("healthy", big), ErrorType.PayloadTooLarge, "the limit is 6291456 bytes (6 MB)");
    }

    @Test
    void malformedJson() throws Exception {
        expect(() -> node.invoke("healthy", "{\"name\": "), ErrorType.InvalidRequest, "not valid JSON");
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(node.node.uri() + "/functions/healthy")).header("Authorization", "Bearer " + node.node.apiToken())
                .PUT(HttpRequest.BodyPublishers.ofString("{oops"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("InvalidRequest").contains("the deployment request is not valid JSON");
    }

    @Test
    void eventThatDoesNotFitTheHandlerType() {
        FunctionErrorException e = functionError(() -> node.invoke("healthy", "{\"times\":\"many\"}"),
                ErrorType.FunctionError);
        assertThat(e.functionErrorType()).isEqualTo("Runtime.InvalidEvent");
    }

    @Test
    void damagedWorkingCopyIsFetchedAgainFromTheStore() throws Exception {
        node.deploy("damaged", TestNode.TF + "EchoFunction::apply");
        node.primeSnapshot("damaged", "{}");
        node.awaitStored("damaged");
        damageWorkingCopy(node, "damaged");

        InvocationResult r = node.invoke("damaged", "{\"k\":1}");

        assertThat(r.bodyAsString()).isEqualTo("{\"shape\":\"function\",\"echo\":{\"k\":1}}");
        assertThat(r.startKind()).as("restored from the store's verified copy").isEqualTo(StartKind.RESTORE);
        assertThat(node.client.describe("damaged").snapshot().restoreFailures()).isEqualTo(1);
        assertThat(node.client.logs("damaged", 50)).contains("RESTORE_FAILED").contains("restoring again from the snapshot store");
    }

    @Test
    void damagedSnapshotWithoutAStoredCopyFallsBackToBootAndHeals() throws Exception {
        try (TestNode local = new TestNode(java.nio.file.Files.createTempDirectory("thaw-it-"), true,
                java.time.Duration.ofMinutes(5), 100, false)) {
            local.deploy("damaged", TestNode.TF + "EchoFunction::apply");
            local.primeSnapshot("damaged", "{}");
            damageWorkingCopy(local, "damaged");

            InvocationResult r = local.invoke("damaged", "{\"k\":1}");

            assertThat(r.bodyAsString()).isEqualTo("{\"shape\":\"function\",\"echo\":{\"k\":1}}");
            assertThat(r.startKind()).isEqualTo(StartKind.BOOT);
            var snapshot = local.client.describe("damaged").snapshot();
            assertThat(snapshot.restoreFailures()).isEqualTo(1);
            assertThat(snapshot.state()).as("a fresh snapshot was taken by the fallback boot").isEqualTo("ready");
            assertThat(local.client.logs("damaged", 50)).contains("RESTORE_FAILED").contains("booting instead");
            local.client.evict("damaged");
            assertThat(local.invoke("damaged", "{}").startKind()).isEqualTo(StartKind.RESTORE);
        }
    }

    /** Overwrites the working copy's page and core images with three bytes of garbage. */
    private static void damageWorkingCopy(TestNode target, String name) throws IOException {
        Path images = Path.of(target.client.snapshot(name).path("workingCopy").asText());
        try (Stream<Path> files = Files.list(images)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("pages-")
                    || p.getFileName().toString().startsWith("core-")).toList()) {
                Files.write(f, new byte[] {1, 2, 3});
            }
        }
    }

    private static void expect(ThrowingCallable call, ErrorType type, String messagePart) {
        assertThatThrownBy(call).isInstanceOf(ThawException.class)
                .satisfies(e -> assertThat(((ThawException) e).type()).isEqualTo(type))
                .hasMessageContaining(messagePart);
    }

    private static FunctionErrorException functionError(ThrowingCallable call, ErrorType type) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(call);
        assertThat(t).isInstanceOf(FunctionErrorException.class);
        assertThat(((ThawException) t).type()).isEqualTo(type);
        return (FunctionErrorException) t;
    }
}
