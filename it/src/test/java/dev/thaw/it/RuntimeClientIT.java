package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.client.InvocationResult;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.StartKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The unmodified AWS Lambda runtime interface client (from Maven Central) as a custom runtime
 * ({@code runtime: provided}), the way AWS users build one: a zip with a {@code bootstrap} that
 * starts the client on the node's JDK, the client's JARs, and the function's JAR under {@code lib/}.
 * Its native part aborts on a deadline that is not in the future, so every invocation it answers is
 * also a check of the deadline the node hands over.
 */
class RuntimeClientIT {
    static final Path CLIENT_JARS = Path.of(System.getProperty("thaw.it.aws-runtime-client", "target/aws-runtime-client"));
    static final String HANDLER = TestNode.TF + "RemainingTime::handleRequest";
    private static Path zip;

    @BeforeAll
    static void buildZip() throws IOException {
        zip = runtimeClientZip();
    }

    @AfterAll
    static void removeZip() throws IOException {
        Files.deleteIfExists(zip);
    }

    /** A custom-runtime zip: bootstrap, the client's JARs under ric/, the test functions under lib/. */
    static Path runtimeClientZip() throws IOException {
        Path zip = Files.createTempFile("thaw-ric-", ".zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(zip))) {
            entry(out, "bootstrap", ("#!/bin/sh\n"
                    + "# The AWS Lambda runtime interface client, unmodified, on the JDK the node gives (JAVA_HOME)\n"
                    + "exec \"$JAVA_HOME/bin/java\" -XX:-UsePerfData -XX:+UseSerialGC -Xshare:auto \\\n"
                    + "  -cp \"$LAMBDA_TASK_ROOT/ric/*\" com.amazonaws.services.lambda.runtime.api.client.AWSLambda \"$_HANDLER\"\n")
                    .getBytes(StandardCharsets.UTF_8));
            try (Stream<Path> jars = Files.list(CLIENT_JARS)) {
                for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                    entry(out, "ric/" + jar.getFileName(), Files.readAllBytes(jar));
                }
            }
            entry(out, "lib/thaw-testfunctions.jar", Files.readAllBytes(TestNode.TEST_FUNCTIONS));
        }
        return zip;
    }

    private static void entry(ZipOutputStream out, String name, byte[] bytes) throws IOException {
        out.putNextEntry(new ZipEntry(name));
        out.write(bytes);
        out.closeEntry();
    }

    @Test
    void hundredsOfWarmInvocationsSeeAPositiveShrinkingDeadlineAndNoneCrashes() throws Exception {
        try (TestNode node = new TestNode(false)) {
            node.client.deploy(new FunctionManifest("ric", HANDLER, "provided", 256, 30_000, Map.of(), 2, false), zip);
            List<Long> remaining = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                InvocationResult r = node.invoke("ric", "{\"i\":" + i + "}");
                JsonNode body = Json.mapper().readTree(r.body());
                assertThat(r.status()).as("invocation %d: %s", i, r.bodyAsString()).isEqualTo(200);
                assertThat(r.startKind()).isEqualTo(i == 0 ? StartKind.BOOT : StartKind.WARM);
                remaining.add(body.path("remainingMs").asLong());
            }
            assertThat(remaining).allSatisfy(ms -> assertThat(ms).isPositive().isLessThanOrEqualTo(30_000));
            assertThat(node.client.logs("ric", 10_000)).doesNotContain("ms > 0").doesNotContain("Assertion");
            assertThat(node.client.describe("ric").instances().idle()).isEqualTo(1);
        }
    }

    @Test
    void theDeadlineShrinksWhileTheHandlerRuns() throws Exception {
        try (TestNode node = new TestNode(false)) {
            node.client.deploy(new FunctionManifest("ric", HANDLER, "provided", 256, 5_000, Map.of(), 1, false), zip);
            long first = Json.mapper().readTree(node.invoke("ric", "{}").body()).path("remainingMs").asLong();
            assertThat(first).isPositive().isLessThanOrEqualTo(5_000);
        }
    }

    /**
     * In a sandbox the client is snapshotted as Lambda SnapStart snapshots it: told its init is
     * {@code snap-start}, it runs its init, calls {@code restore/next}, and the node checkpoints it
     * there. Every restored clone then resumes in that call and serves as the original would.
     */
    @Test
    void snapshottedAtRestoreNextAndRestoredClonesServeHundredsOfInvocations() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here");
        try (TestNode node = new TestNode(true)) {
            org.junit.jupiter.api.Assumptions.assumeTrue(node.node.sandboxStatus().startsWith("on"),
                    "no sandbox here: " + node.node.sandboxStatus());
            node.client.deploy(new FunctionManifest("ric", HANDLER, "provided", 256, 30_000, Map.of(), 2, true), zip);
            node.primeSnapshot("ric", "{\"i\":-1}");
            List<Long> remaining = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                InvocationResult r = node.invoke("ric", "{\"i\":" + i + "}");
                assertThat(r.status()).as("invocation %d: %s", i, r.bodyAsString()).isEqualTo(200);
                assertThat(r.startKind()).isEqualTo(i % 50 == 0 ? StartKind.RESTORE : StartKind.WARM);
                remaining.add(Json.mapper().readTree(r.body()).path("remainingMs").asLong());
                if (i % 50 == 49) {
                    node.client.evict("ric"); // the next one is a fresh clone of the snapshot
                }
            }
            assertThat(remaining).allSatisfy(ms -> assertThat(ms).isPositive().isLessThanOrEqualTo(30_000));
            assertThat(node.client.logs("ric", 10_000)).doesNotContain("Assertion").doesNotContain("RESTORE_FAILED");
        }
    }
}
