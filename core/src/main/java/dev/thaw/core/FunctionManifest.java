package dev.thaw.core;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What a deployment says about a function, apart from its code: the wire form of {@code thaw deploy}
 * and of {@code PUT /functions/{name}}. {@link #validated()} applies defaults and rejects bad values
 * with a message naming the field.
 *
 * @param name the function name: letters, digits, '-' and '_', at most 64 characters
 * @param handler {@code fully.qualified.Class::method}, or the class alone where the method is
 *     unambiguous; for {@code runtime = "provided"} the executable to run (default {@code bootstrap})
 * @param runtime {@code java} (default) or {@code provided} (a Lambda custom runtime: the archive
 *     holds an executable {@code bootstrap} that speaks the Runtime API)
 * @param memoryMb the instance's memory limit in MB (default 512); the JVM heap gets 3/4 of it
 * @param timeoutMs the invocation timeout in ms (default 30000)
 * @param environment environment variables for the function; values are never shown or logged
 * @param maxInstances how many instances may run at once (default 8)
 * @param snapshots whether cold starts restore from a snapshot (default true)
 * @param restoreMode how a snapshot is restored: {@code eager} (whole image read before the clone
 *     runs), {@code lazy} (memory pages served on fault) or {@code reap} (the working set recorded on
 *     the first restore, prefetched in bulk on later ones); null for the node's default
 * @param priming synthetic invocations run before the snapshot, so that what the handler's first
 *     call loads, links and compiles is already in every clone; null for none
 * @param scaling how the function is scaled and prepared ahead of demand; null for the defaults
 * @param mayInvoke the functions this one may invoke through its node, from inside its instances
 *     ({@code THAW_NODE_URL}, the node's invoke API served on the instance's own Runtime API
 *     listener); {@code "*"} for any; null or empty for none, the default: a sandboxed instance
 *     reaches no API of the node's unless its deployment says so
 * @param warmSnapshotAfter once one instance has served this many invocations, the snapshot is
 *     replaced by one of that instance, so clones start with the invocation path compiled; 0: never
 *     (a function whose instances keep what one caller's invocation left in memory, for example);
 *     null for the node's setting ({@code thaw up --warm-snapshot-after}), which also turns it off
 *     for every function when it is 0
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FunctionManifest(
        String name,
        String handler,
        String runtime,
        Integer memoryMb,
        Integer timeoutMs,
        Map<String, String> environment,
        Integer maxInstances,
        Boolean snapshots,
        String restoreMode,
        Priming priming,
        Scaling scaling,
        java.util.List<String> mayInvoke,
        Integer warmSnapshotAfter) {

    /** {@code mayInvoke}'s wildcard: any function. */
    public static final String ANY_FUNCTION = "*";
    /** Most names {@code mayInvoke} may hold. */
    public static final int MAX_MAY_INVOKE = 64;

    /** Most invocations {@code warmSnapshotAfter} may name. */
    public static final int MAX_WARM_SNAPSHOT_AFTER = 100_000_000;

    /** A manifest that leaves the warmed snapshot to the node. */
    public FunctionManifest(String name, String handler, String runtime, Integer memoryMb, Integer timeoutMs,
                            Map<String, String> environment, Integer maxInstances, Boolean snapshots,
                            String restoreMode, Priming priming, Scaling scaling, java.util.List<String> mayInvoke) {
        this(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots, restoreMode, priming,
                scaling, mayInvoke, null);
    }

    /** A manifest that lets its function invoke no other. */
    public FunctionManifest(String name, String handler, String runtime, Integer memoryMb, Integer timeoutMs,
                            Map<String, String> environment, Integer maxInstances, Boolean snapshots,
                            String restoreMode, Priming priming, Scaling scaling) {
        this(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots, restoreMode, priming,
                scaling, null);
    }

    /**
     * How a function's instances follow demand, and what is prepared before it comes.
     *
     * @param minInstances instances kept even with no traffic (default 0: scales to zero)
     * @param targetConcurrency invocations in flight per instance the autoscaler aims at (default 1, as
     *     Lambda: one invocation at a time per instance)
     * @param prewarm pre-restored clones kept ready, waiting for work (default 0)
     * @param next functions invoked after this one (a declared chain): when it is invoked, they get a
     *     pre-restored clone and their freshen hook runs
     * @param freshen the handler's method called as its freshen hook, for handlers that do not implement
     *     {@code dev.thaw.api.Freshen}; null for none
     */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    public record Scaling(Integer minInstances, Double targetConcurrency, Integer prewarm, java.util.List<String> next,
                          String freshen) {
        /** The defaults. */
        public static final Scaling DEFAULT = new Scaling(0, 1.0, 0, java.util.List.of(), null);

        /** @return these settings with the defaults where they say nothing */
        public Scaling filled() {
            return new Scaling(minInstances == null ? 0 : minInstances, targetConcurrency == null ? 1.0 : targetConcurrency,
                    prewarm == null ? 0 : prewarm, next == null ? java.util.List.of() : next, freshen);
        }
    }

    /** The restore modes. */
    public static final java.util.List<String> RESTORE_MODES = RestoreMode.WIRE_NAMES;

    /** A manifest that leaves the restore mode to the node. */
    public FunctionManifest(String name, String handler, String runtime, Integer memoryMb, Integer timeoutMs,
                            Map<String, String> environment, Integer maxInstances, Boolean snapshots) {
        this(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots, null, null, null);
    }

    /** A manifest without priming. */
    public FunctionManifest(String name, String handler, String runtime, Integer memoryMb, Integer timeoutMs,
                            Map<String, String> environment, Integer maxInstances, Boolean snapshots,
                            String restoreMode) {
        this(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots, restoreMode, null, null);
    }

    /** A manifest with the default scaling. */
    public FunctionManifest(String name, String handler, String runtime, Integer memoryMb, Integer timeoutMs,
                            Map<String, String> environment, Integer maxInstances, Boolean snapshots,
                            String restoreMode, Priming priming) {
        this(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots, restoreMode, priming, null);
    }

    /**
     * Priming: before its snapshot is taken, the instance calls its own handler {@code rounds} times
     * with {@code event}, as AWS Lambda SnapStart users do by hand in a {@code beforeCheckpoint} hook.
     * The classes, call sites and JIT-compiled code of the handler's path are then in the snapshot,
     * and no clone pays for them on its first invocation. What the handler does with the event is in
     * the snapshot too, so the event should be one whose handling has no effect outside the instance.
     *
     * @param event the event, as the handler would receive it (any JSON value)
     * @param rounds how many invocations (default {@value #DEFAULT_PRIME_ROUNDS}); fewer when they
     *     take longer together than the function's timeout
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Priming(com.fasterxml.jackson.databind.JsonNode event, Integer rounds) {
        /** Default number of priming invocations. */
        public static final int DEFAULT_PRIME_ROUNDS = 10;
        /** Most priming invocations. */
        public static final int MAX_PRIME_ROUNDS = 10_000;
        /** Largest priming event, serialized: an invocation's payload limit. */
        public static final int MAX_EVENT_BYTES = 6 * 1024 * 1024;

        /** Never prints the event: it may hold data as sensitive as a request's. */
        @Override
        public String toString() {
            return "Priming[rounds=" + rounds + ", event=" + (event == null ? "none" : "(hidden)") + "]";
        }
    }

    /** Default memory limit in MB. */
    public static final int DEFAULT_MEMORY_MB = 512;
    /** Default timeout in ms. */
    public static final int DEFAULT_TIMEOUT_MS = 30_000;
    /** Default maximum number of instances. */
    public static final int DEFAULT_MAX_INSTANCES = 8;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
    private static final Pattern ENV_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern JAVA_HANDLER =
            Pattern.compile("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*(::[\\p{L}_$][\\p{L}\\p{N}_$]*)?");

    /** @return true when the name is a valid function name */
    public static boolean isValidName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /**
     * Applies defaults and checks every field.
     *
     * @return a manifest with no null fields
     * @throws ThawException of type {@link ErrorType#InvalidRequest} naming the bad field
     */
    public FunctionManifest validated() {
        if (!isValidName(name)) {
            throw ThawException.invalidRequest(
                    "function name '%s' is invalid: use 1-64 letters, digits, '-' or '_', starting with a letter or digit", name);
        }
        String rt = runtime == null ? "java" : runtime;
        if (!rt.equals("java") && !rt.equals("provided")) {
            throw ThawException.invalidRequest("runtime '%s' is not supported: use 'java' or 'provided'", rt);
        }
        String h = handler;
        if (rt.equals("provided")) {
            h = (h == null || h.isBlank()) ? "bootstrap" : h;
        } else if (h == null || !JAVA_HANDLER.matcher(h).matches()) {
            throw ThawException.invalidRequest(
                    "handler '%s' is invalid: expected fully.qualified.ClassName or fully.qualified.ClassName::method", h);
        }
        int memory = inRange("memoryMb", memoryMb, DEFAULT_MEMORY_MB, 128, 32_768);
        int timeout = inRange("timeoutMs", timeoutMs, DEFAULT_TIMEOUT_MS, 1, 900_000);
        int max = inRange("maxInstances", maxInstances, DEFAULT_MAX_INSTANCES, 1, 256);
        Map<String, String> env = new TreeMap<>();
        if (environment != null) {
            environment.forEach((k, v) -> {
                if (k == null || !ENV_KEY.matcher(k).matches()) {
                    throw ThawException.invalidRequest("environment variable name '%s' is invalid", k);
                }
                if (k.startsWith("AWS_LAMBDA_") || k.startsWith("THAW_") || k.startsWith("_")) {
                    throw ThawException.invalidRequest(
                            "environment variable '%s' is reserved (names starting with AWS_LAMBDA_, THAW_ or _ are set by thaw)", k);
                }
                if (v == null) {
                    throw ThawException.invalidRequest("environment variable '%s' has no value", k);
                }
                env.put(k, v);
            });
        }
        boolean snap = snapshots == null ? rt.equals("java") : snapshots;
        if (restoreMode != null && !RESTORE_MODES.contains(restoreMode)) {
            throw ThawException.invalidRequest("restoreMode '%s' is not one of %s", restoreMode, RESTORE_MODES);
        }
        return new FunctionManifest(name, h, rt, memory, timeout, Map.copyOf(env), max, snap, restoreMode,
                validatedPriming(rt, snap), validatedScaling(max, rt), validatedMayInvoke(), validatedWarmSnapshotAfter(rt, snap));
    }

    private Integer validatedWarmSnapshotAfter(String rt, boolean snap) {
        if (warmSnapshotAfter == null || warmSnapshotAfter == 0) {
            return warmSnapshotAfter;
        }
        inRange("warmSnapshotAfter", warmSnapshotAfter, 0, 0, MAX_WARM_SNAPSHOT_AFTER);
        if (!rt.equals("java")) {
            throw ThawException.invalidRequest("warmSnapshotAfter is for the java runtime: only thaw's own runtime takes a"
                    + " snapshot between invocations (0 is allowed: never)");
        }
        if (!snap) {
            throw ThawException.invalidRequest("warmSnapshotAfter replaces the function's snapshot, and this function has"
                    + " snapshots turned off");
        }
        return warmSnapshotAfter;
    }

    /** @return the names, sorted and without repeats; null for none (as a manifest that never had the field) */
    private java.util.List<String> validatedMayInvoke() {
        if (mayInvoke == null || mayInvoke.isEmpty()) {
            return null;
        }
        java.util.TreeSet<String> names = new java.util.TreeSet<>();
        for (String n : mayInvoke) {
            if (n == null || !(n.equals(ANY_FUNCTION) || isValidName(n))) {
                throw ThawException.invalidRequest("mayInvoke names '%s', which is neither a function name nor '*'", n);
            }
            names.add(n);
        }
        if (names.size() > MAX_MAY_INVOKE) {
            throw ThawException.invalidRequest("mayInvoke names %d functions; at most %d (or '*' for any)", names.size(),
                    MAX_MAY_INVOKE);
        }
        return java.util.List.copyOf(names);
    }

    /** @return whether this function may invoke {@code function} through its node (see {@code mayInvoke}) */
    public boolean mayInvoke(String function) {
        return mayInvoke != null && (mayInvoke.contains(ANY_FUNCTION) || mayInvoke.contains(function));
    }

    private Scaling validatedScaling(int max, String rt) {
        if (scaling == null) {
            return Scaling.DEFAULT;
        }
        String maxInstances = "the function's maxInstances (" + max + ")";
        int min = inRange("scaling.minInstances", scaling.minInstances(), 0, 0, max, maxInstances);
        double target = scaling.targetConcurrency() == null ? 1.0 : scaling.targetConcurrency();
        if (!(target > 0) || target > 1000) {
            throw ThawException.invalidRequest("scaling.targetConcurrency must be above 0 and at most 1000, got %s", target);
        }
        int prewarm = inRange("scaling.prewarm", scaling.prewarm(), 0, 0, max, maxInstances);
        java.util.List<String> next = scaling.next() == null ? java.util.List.of() : java.util.List.copyOf(scaling.next());
        for (String n : next) {
            if (!isValidName(n)) {
                throw ThawException.invalidRequest("scaling.next names '%s', which is not a valid function name", n);
            }
            if (n.equals(name)) {
                throw ThawException.invalidRequest("scaling.next names the function itself ('%s')", n);
            }
        }
        if (next.size() > 16) {
            throw ThawException.invalidRequest("scaling.next names %d functions; at most 16", next.size());
        }
        String freshen = scaling.freshen();
        if (freshen != null && !freshen.matches("[\\p{L}_$][\\p{L}\\p{N}_$]*")) {
            throw ThawException.invalidRequest("scaling.freshen '%s' is not a method name", freshen);
        }
        if (freshen != null && !rt.equals("java")) {
            throw ThawException.invalidRequest("scaling.freshen names a handler method: it is for the java runtime");
        }
        return new Scaling(min, target, prewarm, next, freshen);
    }

    /** @return the scaling settings, defaults when none were given */
    public Scaling scalingOrDefault() {
        return scaling == null ? Scaling.DEFAULT : scaling.filled();
    }

    private Priming validatedPriming(String rt, boolean snap) {
        if (priming == null) {
            return null;
        }
        if (priming.event() == null || priming.event().isMissingNode()) {
            throw ThawException.invalidRequest("priming needs an event: the JSON the handler is called with before the snapshot");
        }
        if (!rt.equals("java")) {
            throw ThawException.invalidRequest("priming is for the java runtime: a '%s' runtime is never snapshotted", rt);
        }
        if (!snap) {
            throw ThawException.invalidRequest("priming runs before the snapshot, and this function has snapshots turned off");
        }
        int rounds = inRange("priming.rounds", priming.rounds(), Priming.DEFAULT_PRIME_ROUNDS, 1, Priming.MAX_PRIME_ROUNDS);
        int bytes = Json.write(priming.event()).length;
        if (bytes > Priming.MAX_EVENT_BYTES) {
            throw ThawException.invalidRequest("priming.event is %d bytes; the limit is %d (an invocation's payload limit)",
                    bytes, Priming.MAX_EVENT_BYTES);
        }
        return new Priming(priming.event(), rounds);
    }

    private static int inRange(String field, Integer value, int fallback, int min, int max) {
        return inRange(field, value, fallback, min, max, String.valueOf(max));
    }

    /** @param maxSaid the upper bound as the message names it, e.g. where it comes from */
    private static int inRange(String field, Integer value, int fallback, int min, int max, String maxSaid) {
        int v = value == null ? fallback : value;
        if (v < min || v > max) {
            throw ThawException.invalidRequest("%s must be between %d and %s, got %d", field, min, maxSaid, v);
        }
        return v;
    }

    /** @return a copy with another name */
    public FunctionManifest withName(String newName) {
        return new FunctionManifest(newName, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots,
                restoreMode, priming, scaling, mayInvoke, warmSnapshotAfter);
    }

    /** @return a copy primed as given (null: not primed) */
    public FunctionManifest withPriming(Priming newPriming) {
        return new FunctionManifest(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots,
                restoreMode, newPriming, scaling, mayInvoke, warmSnapshotAfter);
    }

    /** @return a copy scaled as given (null: the defaults) */
    public FunctionManifest withScaling(Scaling newScaling) {
        return new FunctionManifest(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots,
                restoreMode, priming, newScaling, mayInvoke, warmSnapshotAfter);
    }

    /** @return a copy that may invoke the functions given (null: none) */
    public FunctionManifest withMayInvoke(java.util.List<String> functions) {
        return new FunctionManifest(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots,
                restoreMode, priming, scaling, functions, warmSnapshotAfter);
    }

    /** @return a copy with its own warmed-snapshot setting (null: the node's) */
    public FunctionManifest withWarmSnapshotAfter(Integer invocations) {
        return new FunctionManifest(name, handler, runtime, memoryMb, timeoutMs, environment, maxInstances, snapshots,
                restoreMode, priming, scaling, mayInvoke, invocations);
    }

    /** Never shows environment values: they may be secrets. */
    @Override
    public String toString() {
        return "FunctionManifest[name=" + name + ", handler=" + handler + ", runtime=" + runtime
                + ", memoryMb=" + memoryMb + ", timeoutMs=" + timeoutMs
                + ", environment=" + (environment == null ? "{}" : environment.keySet() + " (values hidden)")
                + ", maxInstances=" + maxInstances + ", snapshots=" + snapshots + ", restoreMode=" + restoreMode
                + ", priming=" + priming + ", scaling=" + scaling + ", mayInvoke=" + mayInvoke
                + ", warmSnapshotAfter=" + warmSnapshotAfter + "]";
    }
}
