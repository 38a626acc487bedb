package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.lambda.LambdaClient;
import software.amazon.awssdk.services.lambda.model.InvalidParameterValueException;
import software.amazon.awssdk.services.lambda.model.InvocationType;
import software.amazon.awssdk.services.lambda.model.InvokeRequest;
import software.amazon.awssdk.services.lambda.model.InvokeResponse;
import software.amazon.awssdk.services.lambda.model.LogType;
import software.amazon.awssdk.services.lambda.model.RequestTooLargeException;
import software.amazon.awssdk.services.lambda.model.ResourceNotFoundException;

/**
 * Lambda's Invoke as AWS clients see it, through the real AWS CLI and the AWS SDK for Java v2 pointed
 * at a node: synchronous invocations, qualifiers (version, alias, {@code $LATEST}, {@code name:qualifier},
 * ARNs) with {@code X-Amz-Executed-Version}, log tails, function errors and timeouts as {@code 200}
 * with {@code FunctionError: Unhandled} (run once: the CLI retries 5xx), platform errors in AWS's
 * shape, dry runs and invocation types. Asynchronous invocations: {@link EventsIT}.
 */
class LambdaApiIT {
    static TestNode node;
    static LambdaClient sdk;
    static AwsClients.Cli cli;
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(TestNode.criuAvailable(), "CRIU is not usable here (run scripts/install-criu.sh as root)");
        node = new TestNode();
        dir = Files.createTempDirectory("thaw-aws-");
        sdk = AwsClients.sdk(node.node);
        cli = new AwsClients.Cli(node.node, dir);
        node.deploy("echo", TestNode.TF + "EchoRequestHandler::handleRequest", TestNode.TEST_FUNCTIONS, Map.of(), true, 10_000);
        node.deploy("fails", TestNode.TF + "HandlerThrows::handle", TestNode.TEST_FUNCTIONS, Map.of(), true, 10_000);
        node.deploy("printer", TestNode.TF + "Printer::handle", TestNode.TEST_FUNCTIONS, Map.of(), true, 10_000);
    }

    @AfterAll
    static void stop() throws Exception {
        if (sdk != null) {
            sdk.close();
        }
        if (node != null) {
            node.close();
        }
        if (dir != null) {
            dev.thaw.core.FileTrees.delete(dir);
        }
    }

    private static InvokeResponse invoke(InvokeRequest.Builder request) {
        return sdk.invoke(request.build());
    }

    private static InvokeRequest.Builder request(String function, String payload) {
        return InvokeRequest.builder().functionName(function).payload(SdkBytes.fromUtf8String(payload));
    }

    private static long starts(String function) {
        return node.client.logs(function, 10_000).lines().filter(l -> l.contains(" START RequestId: ")).count();
    }

    @Test
    void theFunctionsLogKeepsItsOwnBlankLinesAndHasNoneForTheSnapshotHandshake() throws Exception {
        java.util.function.Predicate<String> blank = l -> l.matches("\\S+Z ?"); // a timestamp and nothing else
        String atDeploy = Eventually.poll(() -> node.client.logs("printer", 10_000), l -> l.contains("SNAPSHOT taken"),
                Duration.ofSeconds(60), Duration.ofMillis(100));
        assertThat(atDeploy).contains("SNAPSHOT taken");
        assertThat(atDeploy.lines().filter(blank)).as("the runtime's control line starts on a line of its own:\n%s", atDeploy)
                .isEmpty();

        String tail = decode(invoke(request("printer", "{\"marker\":\"blank\",\"blank\":true}").logType(LogType.TAIL))
                .logResult());
        assertThat(tail).contains("printer blank begins\n\nprinter blank ends");
        List<String> lines = Eventually.poll(() -> node.client.logs("printer", 10_000).lines().toList(),
                l -> l.stream().anyMatch(x -> x.endsWith(" printer blank ends")), Duration.ofSeconds(10), Duration.ofMillis(50));
        int begins = lines.indexOf(lines.stream().filter(x -> x.endsWith(" printer blank begins")).findFirst().orElseThrow());
        assertThat(lines.subList(begins + 1, begins + 3)).as("the function's own blank line, in its place")
                .satisfiesExactly(l -> assertThat(blank).accepts(l), l -> assertThat(l).endsWith(" printer blank ends"));
    }

    @Test
    void aSynchronousInvocationThroughTheAwsCliAndTheSdk() throws Exception {
        AwsClients.Cli.assumeInstalled();
        var run = cli.lambda("invoke", "--function-name", "echo", "--payload", "{\"k\":1}", "out-sync.json");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        JsonNode printed = Json.mapper().readTree(run.stdout());
        assertThat(printed.path("StatusCode").asInt()).isEqualTo(200);
        assertThat(printed.path("ExecutedVersion").asText()).isEqualTo("1");
        assertThat(printed.has("FunctionError")).isFalse();
        assertThat(Files.readString(cli.file("out-sync.json"))).contains("\"echo\":{\"k\":1}", "\"shape\":\"lambda\"");

        InvokeResponse r = invoke(request("echo", "{\"k\":2}"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.executedVersion()).isEqualTo("1");
        assertThat(r.functionError()).isNull();
        assertThat(r.logResult()).as("no tail unless asked").isNull();
        assertThat(r.payload().asUtf8String()).contains("\"echo\":{\"k\":2}");
        assertThat(r.sdkHttpResponse().firstMatchingHeader("x-amzn-RequestId")).isPresent();
    }

    @Test
    void qualifiersNameAVersionAnAliasOrTheLatestAndTheAnswerSaysWhichVersionRan() throws Exception {
        AwsClients.Cli.assumeInstalled();
        node.deploy("versioned", TestNode.TF + "EchoFunction::apply");
        node.deploy("versioned", TestNode.TF + "EchoRequestHandler::handleRequest");
        var created = cli.lambda("create-alias", "--function-name", "versioned", "--name", "live", "--function-version", "1");
        assertThat(created.exitCode()).as(created.stderr()).isZero();
        assertThat(Json.mapper().readTree(created.stdout()).path("FunctionVersion").asText()).isEqualTo("1");
        assertThat(node.client.aliases("versioned")).containsEntry("live", 1L);

        String v1 = "\"shape\":\"function\"";
        String v2 = "\"shape\":\"lambda\"";
        assertRan(invoke(request("versioned", "{}")), 2, v2);
        assertRan(invoke(request("versioned", "{}").qualifier("$LATEST")), 2, v2);
        assertRan(invoke(request("versioned", "{}").qualifier("1")), 1, v1);
        assertRan(invoke(request("versioned", "{}").qualifier("live")), 1, v1);
        assertRan(invoke(request("versioned:live", "{}")), 1, v1);
        assertRan(invoke(request("arn:aws:lambda:us-east-1:123456789012:function:versioned:2", "{}")), 2, v2);
        assertRan(invoke(request("arn:aws:lambda:us-east-1:123456789012:function:versioned", "{}").qualifier("1")), 1, v1);
        assertRan(invoke(request("arn:thaw:lambda:local:000000000000:function:versioned:live", "{}")), 1, v1);

        var run = cli.lambda("invoke", "--function-name", "versioned", "--qualifier", "live", "--payload", "{}",
                "out-alias.json");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        assertThat(Json.mapper().readTree(run.stdout()).path("ExecutedVersion").asText()).isEqualTo("1");
        assertThat(Files.readString(cli.file("out-alias.json"))).contains(v1);

        assertThatThrownBy(() -> invoke(request("versioned", "{}").qualifier("beta")))
                .isInstanceOfSatisfying(ResourceNotFoundException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(404);
                    assertThat(e.getMessage()).contains("function 'versioned' has no version or alias 'beta'");
                });
        assertThatThrownBy(() -> invoke(request("versioned:7", "{}")))
                .isInstanceOfSatisfying(ResourceNotFoundException.class,
                        e -> assertThat(e.getMessage()).contains("function 'versioned' has no version 7"));
    }

    private static void assertRan(InvokeResponse r, long version, String body) {
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.executedVersion()).isEqualTo(Long.toString(version));
        assertThat(r.payload().asUtf8String()).contains(body);
    }

    @Test
    void aLogTailHoldsTheInvocationsOwnLinesItsLastLineAndItsReport() throws Exception {
        InvokeResponse first = invoke(request("printer", "{\"marker\":\"first-call\"}").logType(LogType.TAIL));
        String firstTail = decode(first.logResult());
        assertThat(firstTail).contains("printer first-call begins", "printer first-call ends", "END RequestId: ",
                "REPORT RequestId: ").startsWith("START RequestId: ");

        InvokeResponse second = invoke(request("printer", "{\"marker\":\"second-call\",\"ms\":50}").logType(LogType.TAIL));
        String tail = decode(second.logResult());
        String requestId = second.sdkHttpResponse().firstMatchingHeader("x-amzn-RequestId").orElseThrow();
        java.util.List<String> lines = tail.lines().toList();
        assertThat(lines.getFirst()).isEqualTo("START RequestId: " + requestId + " Version: 1");
        assertThat(lines).contains("printer second-call begins", "printer second-call ends", "END RequestId: " + requestId);
        assertThat(lines.getLast()).startsWith("REPORT RequestId: " + requestId + "\tDuration: ");
        assertThat(tail).doesNotContain("first-call");
        assertThat(second.payload().asUtf8String()).isEqualTo("{\"marker\":\"second-call\"}");

        for (int i = 0; i < 20; i++) { // the handler's last line is printed just before it answers: never missing
            String t = decode(invoke(request("printer", "{\"marker\":\"m" + i + "\"}").logType(LogType.TAIL)).logResult());
            assertThat(t).contains("printer m" + i + " ends").doesNotContain("printer m" + (i - 1) + " ");
        }

        AwsClients.Cli.assumeInstalled();
        var run = cli.lambda("invoke", "--function-name", "printer", "--log-type", "Tail", "--payload",
                "{\"marker\":\"from-cli\"}", "out-tail.json");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        String cliTail = decode(Json.mapper().readTree(run.stdout()).path("LogResult").asText());
        assertThat(cliTail).contains("printer from-cli ends", "REPORT RequestId: ").doesNotContain("second-call");
    }

    private static String decode(String base64) {
        assertThat(base64).as("X-Amz-Log-Result").isNotNull();
        return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
    }

    @Test
    void aTimeoutThroughTheAwsCliRunsTheFunctionOnceAndIsAnUnhandledFunctionError() throws Exception {
        AwsClients.Cli.assumeInstalled();
        node.client.deploy(new FunctionManifest("slow", TestNode.TF + "Sleeper::handle", null, 256, 1_000, Map.of(), 2, true),
                TestNode.TEST_FUNCTIONS);
        var run = cli.lambda("invoke", "--function-name", "slow", "--payload", "{\"ms\":5000}", "out-timeout.json");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        JsonNode printed = Json.mapper().readTree(run.stdout());
        assertThat(printed.path("StatusCode").asInt()).isEqualTo(200);
        assertThat(printed.path("FunctionError").asText()).isEqualTo("Unhandled");
        JsonNode body = Json.mapper().readTree(Files.readString(cli.file("out-timeout.json")));
        assertThat(body.path("errorType").asText()).isEqualTo("Sandbox.Timedout");
        assertThat(body.path("errorMessage").asText()).endsWith("Task timed out after 1.00 seconds");
        assertThat(starts("slow")).as("the function ran once: the CLI did not retry").isEqualTo(1);
    }

    @Test
    void aFunctionErrorIsA200WithFunctionErrorUnhandledAndLambdasBody() throws Exception {
        InvokeResponse r = invoke(request("fails", "{\"x\":1}"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.functionError()).isEqualTo("Unhandled");
        assertThat(r.executedVersion()).isEqualTo("1");
        JsonNode body = Json.mapper().readTree(r.payload().asUtf8String());
        assertThat(body.path("errorType").asText()).isEqualTo("java.lang.IllegalArgumentException");
        assertThat(body.path("errorMessage").asText()).isEqualTo("bad input: {x=1}");
        assertThat(body.path("stackTrace").isArray()).isTrue();
        assertThat(body.path("stackTrace").toString()).contains("HandlerThrows.handle");

        AwsClients.Cli.assumeInstalled();
        var run = cli.lambda("invoke", "--function-name", "fails", "--payload", "{}", "out-error.json");
        assertThat(run.exitCode()).as(run.stderr()).isZero();
        assertThat(Json.mapper().readTree(run.stdout()).path("FunctionError").asText()).isEqualTo("Unhandled");
        assertThat(Files.readString(cli.file("out-error.json"))).contains("\"errorType\":\"java.lang.IllegalArgumentException\"");
    }

    @Test
    void aMissingFunctionIsAResourceNotFoundExceptionWithTheNodesMessage() throws Exception {
        assertThatThrownBy(() -> invoke(request("nowhere", "{}")))
                .isInstanceOfSatisfying(ResourceNotFoundException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(404);
                    assertThat(e.awsErrorDetails().errorCode()).isEqualTo("ResourceNotFoundException");
                    assertThat(e.awsErrorDetails().errorMessage()).isEqualTo("no function named 'nowhere' is deployed");
                });
        AwsClients.Cli.assumeInstalled();
        var run = cli.lambda("invoke", "--function-name", "nowhere", "out-missing.json");
        assertThat(run.exitCode()).isNotZero();
        assertThat(run.stderr()).contains("An error occurred (ResourceNotFoundException) when calling the Invoke operation:"
                + " no function named 'nowhere' is deployed");
    }

    @Test
    void aDryRunChecksEverythingAndRunsNothing() throws Exception {
        // snapshots off: a deploy then starts no boot of its own, and any instance would be the dry run's
        node.deploy("dry", TestNode.TF + "EchoRequestHandler::handleRequest", TestNode.TEST_FUNCTIONS, java.util.Map.of(),
                false, 30_000);
        InvokeResponse r = invoke(request("dry", "{}").invocationType(InvocationType.DRY_RUN));
        assertThat(r.statusCode()).isEqualTo(204);
        assertThat(r.executedVersion()).isEqualTo("1");
        assertThatThrownBy(() -> invoke(request("dry", "{}").qualifier("nope").invocationType(InvocationType.DRY_RUN)))
                .isInstanceOf(ResourceNotFoundException.class);
        assertThatThrownBy(() -> invoke(request("dry", "{not json").invocationType(InvocationType.DRY_RUN)))
                .isInstanceOfSatisfying(software.amazon.awssdk.services.lambda.model.InvalidRequestContentException.class,
                        e -> assertThat(e.statusCode()).isEqualTo(400));
        assertThat(starts("dry")).as("nothing ran").isZero();
        assertThat(node.client.describe("dry").instances().idle() + node.client.describe("dry").instances().starting())
                .as("no instance was started").isZero();
    }

    @Test
    void anUnknownInvocationTypeIsAnInvalidParameterValueNamingTheValidOnes() throws Exception {
        assertThatThrownBy(() -> invoke(request("echo", "{}").invocationType("Later")))
                .isInstanceOfSatisfying(InvalidParameterValueException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(400);
                    assertThat(e.awsErrorDetails().errorMessage())
                            .isEqualTo("X-Amz-Invocation-Type 'Later' is not one of [RequestResponse, Event, DryRun]");
                });
        AwsClients.Cli.assumeInstalled();
        var run = cli.lambda("invoke", "--function-name", "echo", "--invocation-type", "Later", "out-type.json");
        assertThat(run.exitCode()).isNotZero();
        assertThat(run.stderr()).contains("(InvalidParameterValueException)", "'Later' is not one of");
    }

    @Test
    void anEventPayloadOverLambdasLimitIsRefusedNamingTheLimit() {
        String big = "\"" + "x".repeat(300 * 1024) + "\"";
        assertThatThrownBy(() -> invoke(request("echo", big).invocationType(InvocationType.EVENT)))
                .isInstanceOfSatisfying(RequestTooLargeException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(413);
                    assertThat(e.awsErrorDetails().errorMessage())
                            .contains("payload of an Event invocation", "the limit is 262144 bytes (256 KB)");
                });
        assertThat(invoke(request("echo", big)).statusCode()).as("a synchronous one may be 6 MB").isEqualTo(200);
    }

    @Test
    void aCrashIsA200WithRuntimeExitError() throws Exception {
        node.deploy("crasher", TestNode.TF + "Crasher::handle");
        InvokeResponse r = invoke(request("crasher", "{}"));
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.functionError()).isEqualTo("Unhandled");
        JsonNode body = Json.mapper().readTree(r.payload().asUtf8String());
        assertThat(body.path("errorType").asText()).isEqualTo("Runtime.ExitError");
        assertThat(body.path("errorMessage").asText()).startsWith("RequestId: ").contains("exited with code 3");
        assertThat(starts("crasher")).as("not retried").isEqualTo(1);
    }

    @Test
    void anOlderVersionKeepsItsSnapshotAndOnlyTheLastFiveAndAliasedVersionsAreKept() throws Exception {
        node.deploy("kept", TestNode.TF + "EchoFunction::apply");
        node.primeSnapshot("kept", "{}"); // version 1 booted, its snapshot taken
        node.deploy("kept", TestNode.TF + "EchoRequestHandler::handleRequest");
        InvokeResponse old = invoke(request("kept", "{}").qualifier("1"));
        assertThat(old.executedVersion()).isEqualTo("1");
        assertThat(old.sdkHttpResponse().firstMatchingHeader("X-Thaw-Start")).as("restored from version 1's snapshot")
                .hasValue("restore");

        node.client.setAlias("kept", "pinned", 1);
        for (int i = 0; i < 5; i++) {
            node.deploy("kept", TestNode.TF + "EchoRequestHandler::handleRequest"); // versions 3 to 7
        }
        var versions = Eventually.poll(() -> node.client.versions("kept").path("versions"), v -> v.size() == 6,
                java.time.Duration.ofSeconds(30), java.time.Duration.ofMillis(100));
        assertThat(versions.findValues("version")).extracting(JsonNode::asLong).containsExactly(1L, 3L, 4L, 5L, 6L, 7L);
        assertThatThrownBy(() -> invoke(request("kept", "{}").qualifier("2")))
                .isInstanceOfSatisfying(ResourceNotFoundException.class,
                        e -> assertThat(e.awsErrorDetails().errorMessage()).contains("has no version 2"));
        assertThat(Eventually.poll(() -> Files.exists(node.dataDir.resolve("functions/kept/v2")), exists -> !exists,
                java.time.Duration.ofSeconds(30), java.time.Duration.ofMillis(100))).as("version 2's files are deleted").isFalse();
        assertThat(invoke(request("kept:pinned", "{}")).executedVersion()).as("the aliased version stays").isEqualTo("1");
        assertThat(node.client.logs("kept", 200)).contains("RETIRE version 2");
    }
}
