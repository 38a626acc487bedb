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
    /**
     * The most exchanges the warm-up before a checkpoint runs: enough for C2 to compile the invocation
     * path (about 3 s through the node on a 2-core VM). The node ends it much sooner when an invocation
     * waits for this instance (RuntimeApi), so only a boot that no one waits for (a deploy's) runs long.
     * The rounds are the budget; the time is only a cap, generous because deploys made at once share
     * the cores: with a cap of 5 s, four deploys at once on a 2-core VM stopped after 5,000-11,000 of
     * the rounds a lone deploy ran, and every clone of theirs compiled what the warm-up had not.
     */
    private static final int WARM_UP_ROUNDS = 20_000;
    private static final java.time.Duration WARM_UP_BUDGET = java.time.Duration.ofSeconds(15);
    /** HotSpot frees its pooled arena chunks every 5 s; a little more makes sure one round ran. */
    private static final java.time.Duration ARENA_CLEANER_WAIT = java.time.Duration.ofMillis(5_300);
    private static final java.time.Duration SETTLE_POLL = java.time.Duration.ofMillis(100);
    /**
     * A clone restored ahead of demand rehearses within this: a few exchanges and priming calls
     * touch the pages of the invocation path; more would only burn the CPU other work needs.
     */
    static final java.time.Duration REHEARSAL_BUDGET = java.time.Duration.ofMillis(60);
    private static final int REHEARSAL_EXCHANGES = 8;
    private static final int REHEARSAL_PRIMING_CALLS = 3;

    private Main() {
    }

    /**
     * Runs the instance.
     *
     * @param args ignored: everything comes from the environment
     */
    public static void main(String[] args) throws Exception {
        RuntimeConfig config = RuntimeConfig.fromEnvironment(System.getenv());
        NodeConnections.use(config.runtimeApi());
        ObjectMapper mapper = Mappers.create();
        RuntimeApiClient api = new RuntimeApiClient(config.runtimeApi(), mapper);
        FunctionInvoker invoker = init(config, mapper, api);
        RuntimeApiClient.Invocation primingEvent = null;
        if (config.checkpointAfterInit()) {
            loadOwnClasses();
            Mappers.warmUp(mapper);
            boolean unawaited = warmUpRuntimeApi(api, config, invoker);
            Checkpointer checkpointer = new Checkpointer(config, mapper);
            Primed primed = config.primeRounds() > 0 ? prime(api, invoker, config) : Primed.NOT;
            if (primed.failure() == null) {
                if (unawaited) {
                    settle(api);
                }
                primingEvent = primed.event();
                api = handshake(checkpointer, api, invoker, config, primingEvent);
            } else {
                checkpointer.abort(primed.failure());
            }
        }
        serve(config, mapper, api, invoker, primingEvent);
    }

    /**
     * The snapshot handshake (Checkpointer), then, in a clone restored ahead of demand, its rehearsal.
     *
     * @return the Runtime API connection to use from now on
     */
    private static RuntimeApiClient handshake(Checkpointer checkpointer, RuntimeApiClient api, FunctionInvoker invoker,
                                              RuntimeConfig config, RuntimeApiClient.Invocation primingEvent)
            throws java.io.IOException, InterruptedException {
        RuntimeApiClient now = checkpointer.checkpoint(api);
        if (checkpointer.rehearseAsked()) {
            rehearse(now, invoker, config, primingEvent);
        }
        return now;
    }

    /**
     * How priming went.
     *
     * @param event the priming event as the node handed it out (a rehearsal after a restore calls the
     *     handler with it again); null when the function is not primed
     * @param failure why priming failed (the snapshot is not taken); null when every round succeeded
     */
    private record Primed(RuntimeApiClient.Invocation event, String failure) {
        static final Primed NOT = new Primed(null, null);
    }

    /**
     * Calls the handler with the function's priming event, through the invocation loop's own code,
     * before the checkpoint (FunctionManifest.Priming): what that path loads, links and compiles is
     * then in the snapshot. Stops early once the rounds took the function's timeout together.
     */
    private static Primed prime(RuntimeApiClient api, FunctionInvoker invoker, RuntimeConfig config)
            throws InterruptedException {
        long start = System.nanoTime();
        long budget = config.primeBudgetMs() * 1_000_000L;
        int round = 0;
        RuntimeApiClient.Invocation inv = null;
        try {
            while (round < config.primeRounds() && (round == 0 || System.nanoTime() - start < budget)) {
                round++;
                inv = api.primeNext();
                Outcome outcome = run(invoker, inv, config);
                if (outcome.failed()) {
                    api.primeError(inv.requestId(), outcome.errorType(), outcome.message(), outcome.error());
                    return new Primed(inv, "priming invocation " + round + " of " + config.primeRounds() + " failed: "
                            + outcome.errorType() + ": " + outcome.message());
                }
                api.primeRespond(inv.requestId(), outcome.result());
            }
        } catch (java.io.IOException e) {
            return new Primed(inv, "priming invocation " + round + " could not reach the node: " + e.getMessage());
        }
        System.err.printf(java.util.Locale.ROOT, "thaw: primed the handler with %d of %d invocations in %d ms%n", round,
                config.primeRounds(), (System.nanoTime() - start) / 1_000_000);
        return new Primed(inv, null);
    }

    /**
     * Run by a clone restored ahead of demand, before its first {@code next} (runtime/README.md):
     * warm-up exchanges, then the priming event again when the function is primed (an event the
     * author declared free of outside effects). Within {@link #REHEARSAL_BUDGET}; only an
     * optimization, so a failure costs a line on stderr and the clone asks for work as usual.
     */
    private static void rehearse(RuntimeApiClient api, FunctionInvoker invoker, RuntimeConfig config,
                                 RuntimeApiClient.Invocation primingEvent) throws InterruptedException {
        long deadline = System.nanoTime() + REHEARSAL_BUDGET.toNanos();
        try {
            api.warmUp(REHEARSAL_EXCHANGES, REHEARSAL_BUDGET.dividedBy(2), config, conversions(invoker));
        } catch (java.io.IOException e) {
            System.err.println("thaw: the rehearsal after the restore could not reach the node: " + e.getMessage());
            return;
        }
        for (int i = 0; primingEvent != null && i < REHEARSAL_PRIMING_CALLS && System.nanoTime() < deadline; i++) {
            // the priming round's deadline passed before the snapshot: the handler gets the time it had then
            RuntimeApiClient.Invocation again = new RuntimeApiClient.Invocation(primingEvent.requestId(),
                    System.currentTimeMillis() + config.primeBudgetMs(), primingEvent.invokedArn(), primingEvent.event());
            Outcome outcome = run(invoker, again, config);
            if (outcome.failed()) {
                System.err.println("thaw: the priming event failed in the rehearsal after the restore: "
                        + outcome.errorType() + ": " + outcome.message());
                return;
            }
        }
    }

    /** What one call of the handler gave: its result, or the error the Runtime API is told. */
    private record Outcome(byte[] result, String errorType, String message, Throwable error) {
        boolean failed() {
            return errorType != null;
        }
    }

    private static Outcome run(FunctionInvoker invoker, RuntimeApiClient.Invocation inv, RuntimeConfig config) {
        RuntimeContext ctx = new RuntimeContext(config, inv.requestId(), inv.invokedArn(), inv.deadlineEpochMs());
        try {
            return new Outcome(invoker.invoke(inv.event(), ctx), null, null, null);
        } catch (HandlerLoader.EventFormatException e) {
            return new Outcome(null, "Runtime.InvalidEvent", e.getMessage(), null);
        } catch (Throwable t) {
            t.printStackTrace();
            return new Outcome(null, t.getClass().getName(), String.valueOf(t.getMessage()), t);
        }
    }

    /**
     * Calls the handler's freshen hook on a thread of its own and waits for it until the call's
     * deadline: a hook that overruns is cut off there (the instance takes work again; the hook's thread
     * runs on as a daemon until it returns), so it can neither hold the instance nor buy compute.
     */
    private static Outcome freshen(FunctionInvoker invoker, RuntimeApiClient.Invocation inv) {
        var hook = invoker.freshen();
        if (hook.isEmpty()) {
            return new Outcome(null, "Freshen.NotImplemented", "the handler has no freshen hook", null);
        }
        dev.thaw.api.FreshenContext ctx = new dev.thaw.api.FreshenContext() {
            @Override
            public long remainingTimeMillis() {
                return Math.max(0, inv.deadlineEpochMs() - System.currentTimeMillis());
            }

            @Override
            public String reason() {
                return inv.freshen();
            }
        };
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().daemon().name("thaw-freshen").start(() -> {
            try {
                hook.get().call(ctx);
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        try {
            done.get(Math.max(1, ctx.remainingTimeMillis()), java.util.concurrent.TimeUnit.MILLISECONDS);
            return new Outcome("{}".getBytes(java.nio.charset.StandardCharsets.UTF_8), null, null, null);
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable failure = e.getCause();
            return new Outcome(null, failure.getClass().getName(), String.valueOf(failure.getMessage()), failure);
        } catch (java.util.concurrent.TimeoutException e) {
            return new Outcome(null, "Freshen.Timeout", "the freshen hook did not finish within its "
                    + "time limit and was cut off", null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(null, "Freshen.Interrupted", "interrupted", null);
        }
    }

    /**
     * Loads (without initializing) every class of the runtime itself before the checkpoint: one the
     * snapshot lacks is read from the runtime's JAR, defined and verified by every clone that needs it,
     * on its cold-start path (1-2 ms a class on a 2-core VM). Its shaded libraries are left out: they
     * are large, and what the runtime uses of them is loaded by its warm-ups. Only an optimization.
     */
    private static void loadOwnClasses() {
        try {
            java.net.URL location = Main.class.getProtectionDomain().getCodeSource().getLocation();
            Path jar = Path.of(location.toURI());
            if (!java.nio.file.Files.isRegularFile(jar)) {
                return; // classes from a directory (the runtime's own tests)
            }
            String own = Main.class.getPackageName().replace('.', '/') + "/";
            try (java.util.jar.JarFile file = new java.util.jar.JarFile(jar.toFile())) {
                for (String name : file.stream().map(java.util.jar.JarEntry::getName)
                        .filter(n -> n.startsWith(own) && n.endsWith(".class") && !n.startsWith(own + "shaded/")).toList()) {
                    Class.forName(name.substring(0, name.length() - ".class".length()).replace('/', '.'), false,
                            Main.class.getClassLoader());
                }
            }
        } catch (java.io.IOException | java.net.URISyntaxException | ClassNotFoundException | LinkageError
                 | RuntimeException e) {
            System.err.println("thaw: could not load the runtime's classes before the checkpoint: " + e);
        }
    }

    /**
     * Runs the invocation loop's own code before the checkpoint, with the handler's own event reading
     * and result writing over made-up values but never the handler: what it loads, links and compiles
     * is then in the snapshot, not in every clone's first invocation or first seconds. Only an
     * optimization: a node that does not answer the warm-up routes costs a line on stderr.
     */
    private static boolean warmUpRuntimeApi(RuntimeApiClient api, RuntimeConfig config, FunctionInvoker invoker)
            throws InterruptedException {
        try {
            var conversions = conversions(invoker);
            System.err.println("thaw: the warm-up runs the handler's own JSON reading and writing (never the handler) over "
                    + conversions.map(FunctionInvoker.Conversions::summary).orElse("nothing: no made-up value fits its types"));
            return !api.warmUp(WARM_UP_ROUNDS, WARM_UP_BUDGET, config, conversions);
        } catch (java.io.IOException e) {
            System.err.println("thaw: the Runtime API warm-up failed, the first invocation of each clone will be slower: "
                    + e.getMessage());
            return false;
        }
    }

    /** The handler's conversions for the warm-up; a failure to make them costs a line on stderr, no more. */
    private static java.util.Optional<FunctionInvoker.Conversions> conversions(FunctionInvoker invoker) {
        try {
            return invoker.conversions();
        } catch (RuntimeException | LinkageError e) {
            System.err.println("thaw: no warm-up of the handler's own types: " + e);
            return java.util.Optional.empty();
        }
    }

    /**
     * Before a checkpoint no one waits for: lets the JVM give back what its JIT compilers used. The
     * compilers' scratch memory (arena chunks) stays pooled until the VM's periodic cleaner frees it,
     * every few seconds; a dump before that copies it into the image and into every clone (after the
     * long warm-up, 14 MB of hello's 56 MB). So: wait for the cleaner's next round, asking the node
     * every {@link #SETTLE_POLL} whether an invocation now waits, and stop at once if one does.
     */
    private static void settle(RuntimeApiClient api) throws InterruptedException {
        Checkpointer.awaitQuietCompiler();
        long deadline = System.nanoTime() + ARENA_CLEANER_WAIT.toNanos();
        try {
            while (System.nanoTime() < deadline) {
                Thread.sleep(SETTLE_POLL);
                if (api.warmUpEnded()) {
                    return;
                }
            }
        } catch (java.io.IOException e) {
            System.err.println("thaw: could not ask the node whether an invocation waits; checkpointing now: "
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

    /**
     * The invocation loop. The node may answer {@code next} with a request for the snapshot handshake
     * instead of an invocation (a snapshot of this instance, taken once real invocations have had the
     * JIT compile their path): the handshake runs as after init, and in the clones of that snapshot
     * it resumes here, in the loop, as a clone of the first snapshot resumes after init.
     *
     * @param primingEvent the priming event, for the rehearsal of a clone restored ahead of demand
     */
    private static void serve(RuntimeConfig config, ObjectMapper mapper, RuntimeApiClient api, FunctionInvoker invoker,
                              RuntimeApiClient.Invocation primingEvent) throws Exception {
        while (true) {
            RuntimeApiClient.Invocation inv = api.next();
            if (inv.checkpoint() != null) {
                api = handshake(new Checkpointer(config, mapper), api, invoker, config, primingEvent);
                continue;
            }
            Outcome outcome = inv.freshen() != null ? freshen(invoker, inv) : run(invoker, inv, config);
            if (outcome.failed()) {
                api.invocationError(inv.requestId(), outcome.errorType(), outcome.message(), outcome.error());
            } else {
                api.respond(inv.requestId(), outcome.result());
            }
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
