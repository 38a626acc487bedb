package dev.thaw.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.thaw.core.FunctionInfo;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.ScalingDefaults;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A node's scaling defaults (thaw up --default-max-instances and the like) fill what a deploy leaves out. */
class ScalingDefaultsIT {
    private static TestNode node;

    @BeforeAll
    static void start() throws Exception {
        node = new TestNode(Files.createTempDirectory("thaw-it-"), false, b -> b.scalingDefaults(new ScalingDefaults(3, 0, 2.0)));
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void aDeployThatSaysNothingGetsTheNodesDefaultsAndOneThatDoesKeepsItsOwn() {
        FunctionInfo bare = node.client.deploy(new FunctionManifest("bare", TestNode.TF + "EchoFunction::apply", null, 256,
                30_000, Map.of(), null, false), TestNode.TEST_FUNCTIONS);
        assertThat(bare.maxInstances()).isEqualTo(3);
        JsonNode scaling = Json.mapper().valueToTree(node.client.describe("bare").scaling());
        assertThat(scaling.path("targetConcurrency").asDouble()).isEqualTo(2.0);
        assertThat(node.invoke("bare", "{\"x\":1}").status()).isEqualTo(200);

        FunctionInfo own = node.client.deploy(new FunctionManifest("own", TestNode.TF + "EchoFunction::apply", null, 256,
                30_000, Map.of(), 6, false).withScaling(new FunctionManifest.Scaling(null, 1.0, null, null, null)),
                TestNode.TEST_FUNCTIONS);
        assertThat(own.maxInstances()).isEqualTo(6);
        assertThat(Json.mapper().valueToTree(node.client.describe("own").scaling()).path("targetConcurrency").asDouble())
                .isEqualTo(1.0);
    }
}
