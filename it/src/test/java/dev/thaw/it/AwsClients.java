package dev.thaw.it;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.lambda.LambdaClient;

/**
 * The AWS clients users point at a node: the AWS CLI as a process (dummy credentials in its
 * environment, empty config and credentials files so nothing of the host's leaks in) and the AWS SDK
 * for Java v2's {@link LambdaClient} with an endpoint override.
 */
final class AwsClients {
    private AwsClients() {
    }

    /** @return a Lambda client of the node, signing with the node's own access keys (DATA_DIR/aws-credentials) */
    static LambdaClient sdk(dev.thaw.node.Node node) {
        String[] key = keys(node.awsCredentialsFile());
        return LambdaClient.builder()
                .endpointOverride(node.uri())
                .region(Region.US_EAST_1)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(key[0], key[1])))
                .build();
    }

    /** @return the access key id and secret of the first key pair of an AWS shared-credentials file */
    static String[] keys(Path credentials) {
        try {
            String id = null;
            String secret = null;
            for (String line : Files.readAllLines(credentials)) {
                String[] kv = line.split("=", 2);
                if (kv.length == 2 && kv[0].strip().equals("aws_access_key_id")) {
                    id = kv[1].strip();
                } else if (kv.length == 2 && kv[0].strip().equals("aws_secret_access_key")) {
                    secret = kv[1].strip();
                }
            }
            return new String[] {id, secret};
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** What one run of the AWS CLI printed. */
    record Run(int exitCode, String stdout, String stderr) {
    }

    /** The AWS CLI against one node. */
    static final class Cli {
        private final URI endpoint;
        private final Path dir;
        private final String[] key;

        /** @param dir where the CLI's empty configuration and its output files go */
        Cli(dev.thaw.node.Node node, Path dir) {
            this.endpoint = node.uri();
            this.dir = dir;
            this.key = keys(node.awsCredentialsFile());
        }

        /** Skips the calling test on a machine without the AWS CLI. */
        static void assumeInstalled() {
            boolean found;
            try {
                Process p = new ProcessBuilder("aws", "--version").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                found = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
            } catch (IOException e) {
                found = false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                found = false;
            }
            assumeTrue(found, "the AWS CLI (aws) is not installed here");
        }

        /** Runs {@code aws lambda ARGS --endpoint-url … --region us-east-1}. */
        Run lambda(String... args) throws IOException, InterruptedException {
            List<String> cmd = new ArrayList<>(List.of("aws", "lambda"));
            cmd.addAll(List.of(args));
            cmd.addAll(List.of("--endpoint-url", endpoint.toString(), "--region", "us-east-1"));
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
            var env = pb.environment();
            env.keySet().removeIf(k -> k.startsWith("AWS_"));
            Path config = Files.writeString(dir.resolve("aws-config"), "");
            env.put("AWS_ACCESS_KEY_ID", key[0]);
            env.put("AWS_SECRET_ACCESS_KEY", key[1]);
            env.put("AWS_CONFIG_FILE", config.toString());
            env.put("AWS_SHARED_CREDENTIALS_FILE", config.toString());
            env.put("AWS_EC2_METADATA_DISABLED", "true");
            Path out = dir.resolve("cli-stdout-" + System.nanoTime());
            Path err = dir.resolve("cli-stderr-" + System.nanoTime());
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new AssertionError("aws " + cmd + " did not finish");
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        }

        /** @return the file the CLI wrote the payload of {@code invoke … OUTFILE} to */
        Path file(String name) {
            return dir.resolve(name);
        }
    }
}
