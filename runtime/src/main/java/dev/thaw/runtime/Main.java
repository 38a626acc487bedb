package dev.thaw.runtime;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.file.Path;
import java.util.List;

/**
 * The thaw runtime's entry point: the process every Java instance runs.
 *
 * <p>Init loads the function's classes in a {@link FunctionClassLoader} and instantiates its
 * handler ({@link HandlerLoader}); a failure is reported on {@code init/error} and the process
 * exits. When the node asked for a snapshot, the {@link Checkpointer} handshake follows; then the
 * Lambda loop: {@code next}, invoke, {@code response} or {@code error}, forever. One invocation at a
 * time, as on Lambda.
 */
public final class Main {
    /** Enough exchanges for C1 to compile the HTTP client's byte loops; about 100 ms at most. */
    private static final int WARM_UP_ROUNDS = 300;
    private static final java.time.Duration WARM_UP_BUDGET = java.time.Duration.ofMillis(150);

    private Main() {
    }

    /**
     * Runs the instance.
     *
     * @param args ignored: everything comes from the environment
     */
    public static void main(String[] args) throws Exception {
        RuntimeConfig config = RuntimeConfig.fromEnvironment(System.getenv());
        ObjectMapper mapper = Mappers.create();
        RuntimeApiClient api = new RuntimeApiClient(config.runtimeApi(), mapper);
        FunctionInvoker invoker = init(config, mapper, api);
        if (config.checkpointAfterInit()) {
            Mappers.warmUp(mapper);
            warmUpRuntimeApi(api, config);
            api = new Checkpointer(config, mapper).checkpoint(api);
        }
        serve(config, api, invoker);
    }

    /**
     * Runs the invocation loop's own code (not the handler) before the checkpoint: what it loads,
     * links and compiles is then in the snapshot, not in every clone's first invocation. Only an
     * optimization: a node that does not answer the warm-up routes costs a line on stderr.
     */
    private static void warmUpRuntimeApi(RuntimeApiClient api, RuntimeConfig config) throws InterruptedException {
        try {
            api.warmUp(WARM_UP_ROUNDS, WARM_UP_BUDGET, config);
        } catch (java.io.IOException e) {
            System.err.println("thaw: the Runtime API warm-up failed, the first invocation of each clone will be slower: "
                    + e.getMessage());
        }
    }

    private static FunctionInvoker init(RuntimeConfig config, ObjectMapper mapper, RuntimeApiClient api)
            throws Exception {
        try {
            ClassLoader loader = new FunctionClassLoader(urls(config.classpath()), Main.class.getClassLoader());
            Thread.currentThread().setContextClassLoader(loader);
            return new HandlerLoader(mapper).load(config.handler(), loader);
        } catch (InitException e) {
            api.initError(e.errorType(), e.getMessage(), e.getCause());
        } catch (Throwable t) {
            api.initError(t.getClass().getName(), String.valueOf(t.getMessage()), t);
        }
        System.exit(1);
        throw new AssertionError("unreachable");
    }

    private static void serve(RuntimeConfig config, RuntimeApiClient api, FunctionInvoker invoker) throws Exception {
        while (true) {
            RuntimeApiClient.Invocation inv = api.next();
            RuntimeContext ctx = new RuntimeContext(config, inv.requestId(), inv.invokedArn(), inv.deadlineEpochMs());
            byte[] result;
            try {
                result = invoker.invoke(inv.event(), ctx);
            } catch (HandlerLoader.EventFormatException e) {
                api.invocationError(inv.requestId(), "Runtime.InvalidEvent", e.getMessage(), null);
                continue;
            } catch (Throwable t) {
                t.printStackTrace();
                api.invocationError(inv.requestId(), t.getClass().getName(), String.valueOf(t.getMessage()), t);
                continue;
            }
            api.respond(inv.requestId(), result);
        }
    }

    private static URL[] urls(List<Path> classpath) throws MalformedURLException {
        URL[] urls = new URL[classpath.size()];
        for (int i = 0; i < urls.length; i++) {
            urls[i] = classpath.get(i).toUri().toURL();
        }
        return urls;
    }
}
