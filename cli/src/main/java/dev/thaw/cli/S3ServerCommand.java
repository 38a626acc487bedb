package dev.thaw.cli;

import dev.thaw.store.EmbeddedS3;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code thaw s3-server} (hidden): the S3-protocol server a local cluster's nodes share (S3Proxy on
 * a directory), as a process of its own that outlives any node. Its access keys come from
 * {@code THAW_S3_ACCESS_KEY} and {@code THAW_S3_SECRET_KEY}, never from flags.
 */
@Command(name = "s3-server", hidden = true, description = "Serves the S3 protocol on 127.0.0.1 from a directory.")
final class S3ServerCommand implements Callable<Integer>, ThawCli.LocalCommand {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "Where the objects live.")
    Path dir;

    @Option(names = "--port", defaultValue = "0", paramLabel = "PORT", description = "Port on 127.0.0.1 (0 picks one).")
    int port;

    @Option(names = "--bucket", defaultValue = "thaw-cluster", paramLabel = "BUCKET", description = "A bucket to create.")
    String bucket;

    @Option(names = "--exit-with-stdin", description = "Stop when standard input ends.")
    boolean exitWithStdin;

    @Override
    public Integer call() throws InterruptedException {
        String access = System.getenv("THAW_S3_ACCESS_KEY");
        String secret = System.getenv("THAW_S3_SECRET_KEY");
        if (access == null || secret == null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                    "the S3 server needs its access keys in THAW_S3_ACCESS_KEY and THAW_S3_SECRET_KEY");
        }
        EmbeddedS3 s3 = EmbeddedS3.start(dir.toAbsolutePath(), port, access, secret);
        s3.createBucket(bucket);
        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            s3.close();
            stop.countDown();
        }, "thaw-s3-shutdown"));
        var out = spec.commandLine().getOut();
        out.println("s3 server listening on " + s3.endpoint() + " (bucket " + bucket + ", objects in " + dir + ")");
        out.flush();
        if (exitWithStdin) {
            Thread.ofPlatform().daemon().name("thaw-stdin-watch").start(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // the parent holds the other end
                    }
                } catch (java.io.IOException e) {
                    // gone
                }
                System.exit(0);
            });
        }
        stop.await();
        return 0;
    }
}
