package dev.thaw.bench;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One of the example functions the benchmark deploys.
 *
 * @param name short name, e.g. {@code hello}
 * @param jar the built JAR
 * @param handler the handler to deploy
 * @param memoryMb memory limit, or {@code null} for the node's default
 * @param payload the event every invocation sends
 * @param environment the function's environment
 */
record ExampleFunction(String name, Path jar, String handler, Integer memoryMb, String payload,
                       Map<String, String> environment) {

    /**
     * {@code spring-boot-c1} is the Spring Boot example with the JIT limited to C1
     * ({@code JAVA_TOOL_OPTIONS=-XX:TieredStopAtLevel=1}), the setting AWS recommends for
     * cold-start-sensitive Java functions: it makes both the boot and the snapshot smaller.
     */
    static List<String> names() {
        return List.of("hello", "json-transform", "lambda-handler", "spring-boot", "spring-boot-c1");
    }

    /** The FunctionBench-style workloads (workloads/README.md) the restore benchmark can deploy too. */
    static List<String> workloadNames() {
        return List.of("json", "image", "aes", "matmul", "template", "compression", "ml");
    }

    ExampleFunction(String name, Path jar, String handler, Integer memoryMb, String payload) {
        this(name, jar, handler, memoryMb, payload, Map.of());
    }

    /** @return the example called {@code name}, with its JAR under {@code examplesDir} */
    static ExampleFunction named(String name, Path examplesDir) {
        if (workloadNames().contains(name)) {
            return workload(name, examplesDir.toAbsolutePath().getParent().resolve("workloads/target/thaw-workloads.jar"));
        }
        Path jar = examplesDir.resolve(name).resolve("target").resolve("thaw-examples-" + name + ".jar");
        return switch (name) {
            case "hello" -> new ExampleFunction(name, jar, "dev.thaw.examples.hello.Hello::handle", null,
                    "{\"name\":\"bench\"}");
            case "json-transform" -> new ExampleFunction(name, jar, "dev.thaw.examples.json.OrderSummarizer::apply", null,
                    "{\"id\":\"o-1\",\"customer\":\"c\",\"currency\":\"EUR\",\"lines\":[{\"sku\":\"a\",\"quantity\":2,"
                            + "\"unitPrice\":1.5},{\"sku\":\"b\",\"quantity\":1,\"unitPrice\":3}]}");
            case "lambda-handler" -> new ExampleFunction(name, jar,
                    "dev.thaw.examples.lambda.GreetingApiHandler::handleRequest", null,
                    "{\"httpMethod\":\"GET\",\"path\":\"/greet\",\"queryStringParameters\":{\"name\":\"bench\"}}");
            // Spring Boot's context needs more heap than the 512 MB default leaves it.
            case "spring-boot" -> new ExampleFunction(name, jar, "dev.thaw.examples.springboot.QuoteHandler::apply", 1024,
                    "{\"customer\":\"bench\",\"lines\":[{\"sku\":\"PEN-BLK\",\"quantity\":2}]}");
            case "spring-boot-c1" -> new ExampleFunction(name,
                    examplesDir.resolve("spring-boot/target/thaw-examples-spring-boot.jar"),
                    "dev.thaw.examples.springboot.QuoteHandler::apply", 1024,
                    "{\"customer\":\"bench\",\"lines\":[{\"sku\":\"PEN-BLK\",\"quantity\":2}]}",
                    Map.of("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1"));
            default -> throw new IllegalArgumentException("unknown function '" + name + "': choose from " + names());
        };
    }

    private static ExampleFunction workload(String name, Path jar) {
        String w = "dev.thaw.workloads.";
        return switch (name) {
            case "json" -> new ExampleFunction(name, jar, w + "JsonWorkload::handle", 256, "{\"size\":1000}");
            case "image" -> new ExampleFunction(name, jar, w + "ImageWorkload::handle", 384, "{\"width\":320,\"height\":240}");
            case "aes" -> new ExampleFunction(name, jar, w + "AesWorkload::handle", 256, "{\"messageBytes\":65536,\"rounds\":10}");
            case "matmul" -> new ExampleFunction(name, jar, w + "MatmulWorkload::handle", 256, "{\"n\":200}");
            case "template" -> new ExampleFunction(name, jar, w + "TemplateWorkload::handle", 256, "{\"rows\":100,\"cols\":10}");
            case "compression" -> new ExampleFunction(name, jar, w + "CompressionWorkload::handle", 256, "{\"sizeKb\":512}");
            case "ml" -> new ExampleFunction(name, jar, w + "MlWorkload::handle", 256,
                    "{\"features\":[[2.0,1.5],[-2.0,-1.0]]}");
            default -> throw new IllegalArgumentException("unknown workload '" + name + "': choose from " + workloadNames());
        };
    }

    /** @return the name of its deployment with snapshots on ({@code restore}) or off ({@code boot}) */
    String deployment(boolean snapshots) {
        return "bench-" + name + (snapshots ? "-restore" : "-boot");
    }
}
