package dev.thaw.cli;

import dev.thaw.node.Node;
import dev.thaw.node.NodeConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code thaw up}: runs a node in the foreground until Ctrl-C. */
@Command(name = "up", description = {"Starts a node in the foreground; Ctrl-C stops it and its instances.",
        "The runtime JAR and CRIU come from the system properties thaw.runtime.jar and thaw.criu."})
final class UpCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "8080", description = "Port on 127.0.0.1 (default ${DEFAULT-VALUE}; 0 picks one).")
    int port;

    @Option(names = "--data-dir", defaultValue = ".thaw/data", description = "Deployments, snapshots and logs (default ${DEFAULT-VALUE}).")
    Path dataDir;

    @Option(names = "--keep-alive-s", defaultValue = "600", description = "Seconds an idle instance lives (default ${DEFAULT-VALUE}).")
    long keepAliveSeconds;

    @Override
    public Integer call() throws InterruptedException {
        NodeConfig config = NodeConfig.builder()
                .port(port)
                .dataDir(dataDir)
                .keepAlive(Duration.ofSeconds(keepAliveSeconds))
                .build();
        Node node = Node.start(config);
        // Ctrl-C runs shutdown hooks, not finally blocks: the hook is what stops the instances.
        Runtime.getRuntime().addShutdownHook(new Thread(node::close, "thaw-shutdown"));
        PrintWriter out = spec.commandLine().getOut();
        out.println("thaw node listening on " + node.uri());
        out.println("snapshots: " + node.snapshotStatus());
        out.println("press Ctrl-C to stop");
        out.flush();
        node.awaitClose();
        return 0;
    }
}
