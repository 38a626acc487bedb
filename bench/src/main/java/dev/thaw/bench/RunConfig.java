package dev.thaw.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.thaw.core.FunctionManifest;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The configuration of {@code thaw bench run}: a YAML or JSON file (see {@code bench/README.md}).
 * Fields left out take the defaults of their accessors; {@link #validate()} checks everything at once
 * and names each bad field by its path.
 *
 * @param name the scenario's name (titles, file names)
 * @param description free text, echoed in the report
 * @param target what is measured
 * @param seed the one seed every random choice derives from
 * @param functions the functions invoked, at least one
 * @param load how requests arrive and how many
 * @param sweep an optional parameter that takes several values, one sub-run each
 * @param cleanup delete the deployed functions at the end (default true)
 */
public record RunConfig(String name, String description, Target target, Long seed, List<FunctionSpec> functions,
                        Load load, Sweep sweep, Boolean cleanup) {

    /** Sweepable parameters and where they live. */
    static final List<String> SWEEP_PARAMETERS = List.of("burstSize", "payloadBytes", "concurrency", "iatMs",
            "requests", "maxInFlight", "burstGapMs");

    /**
     * @param url the node's URL, or a plain HTTP endpoint for {@code kind: http}
     * @param kind {@code thaw} (deploys, reads X-Thaw-* headers) or {@code http} (POSTs to url + function path)
     * @param requestTimeoutS how long one request may take
     */
    public record Target(String url, String kind, Integer requestTimeoutS) {
        boolean thaw() {
            return kind == null || "thaw".equals(kind);
        }

        int timeoutS() {
            return requestTimeoutS == null ? 120 : requestTimeoutS;
        }
    }

    /**
     * @param name function name (deployments are named after it)
     * @param jar JAR path, relative to the repository root or absolute (thaw targets)
     * @param handler handler, e.g. {@code dev.thaw.workloads.BusySpin::handle}
     * @param memoryMb memory limit
     * @param timeoutMs invocation timeout
     * @param maxInstances the node's instance limit for the function
     * @param snapshots false deploys with snapshots off: every cold start boots
     * @param env environment of the function
     * @param payload the event, any JSON value
     * @param payloadGenerator adds a generated string field of a given size to the payload
     * @param weight share of requests in the mix (default 1)
     * @param path for {@code http} targets: appended to the target URL
     * @param cold cold steering; absent means warm (requests reuse idle instances)
     * @param chain makes the function a chain of {@code length} deployments of the {@code chain} workload
     * @param warmup unrecorded calls per deployment before each sub-run (default 1; primes the snapshot)
     */
    public record FunctionSpec(String name, String jar, String handler, Integer memoryMb, Integer timeoutMs,
                               Integer maxInstances, Boolean snapshots, Map<String, String> env, JsonNode payload,
                               PayloadGenerator payloadGenerator, Double weight, String path, Cold cold, Chain chain,
                               Integer warmup) {
        /** @return the payload, or null when absent or JSON null */
        JsonNode payloadOrNull() {
            return payload == null || payload.isNull() || payload.isMissingNode() ? null : payload;
        }

        double weightOrDefault() {
            return weight == null ? 1.0 : weight;
        }

        int warmupOrDefault() {
            return warmup == null ? 1 : warmup;
        }

        boolean snapshotsOrDefault() {
            return snapshots == null || snapshots;
        }

        boolean coldSteered() {
            return cold != null && (cold.replicasOrDefault() > 1 || cold.evictOrDefault());
        }
    }

    /** @param field the payload field that gets the string (default {@code data}); @param sizeBytes its length */
    public record PayloadGenerator(String field, Integer sizeBytes) {
        String fieldOrDefault() {
            return field == null ? "data" : field;
        }
    }

    /**
     * Cold steering.
     *
     * @param replicas deploy this many identical copies and rotate over them; each copy's instances are
     *     evicted in the background after its call, so the next visit finds none (STeLLAR's method)
     * @param evict evict the function's instances before each call (closed loop only)
     */
    public record Cold(Integer replicas, Boolean evict) {
        int replicasOrDefault() {
            return replicas == null ? 1 : replicas;
        }

        boolean evictOrDefault() {
            return evict != null && evict;
        }
    }

    /**
     * @param length functions in the chain (the client calls the first)
     * @param payloadBytes payload per hop
     * @param via the older name of {@code transfer} ({@code inline} or {@code store})
     * @param transfer how the payload travels: {@code inline} (default: in the invocation),
     *     {@code store} (through an object store, only a reference is invoked with, as STeLLAR's
     *     storage-based transfers do; the benchmark runs that store itself, an embedded S3 on
     *     loopback) or {@code xdt} (thaw's expedited data transfers: the data stays in the node's
     *     buffers and the next function pulls it by reference)
     * @param spread on a cluster, run each hop after the first on another node than the front door's
     *     (false by default): the benchmark starts each such hop's first instance through another
     *     node's front door, and placement, which prefers an idle warm instance, keeps it there, so
     *     each hand-off crosses nodes (an XDT reference is then pulled from the producer's node)
     */
    public record Chain(Integer length, Integer payloadBytes, String via, String transfer, Boolean spread) {
        /** The transfers a chain can use. */
        static final List<String> TRANSFERS = List.of("inline", "store", "xdt");

        /** A chain with the older field only. */
        public Chain(Integer length, Integer payloadBytes, String via) {
            this(length, payloadBytes, via, null, null);
        }

        /** A chain on whatever nodes placement picks. */
        public Chain(Integer length, Integer payloadBytes, String via, String transfer) {
            this(length, payloadBytes, via, transfer, null);
        }

        /** @return whether the hops run on different nodes of a cluster */
        public boolean spreadOrDefault() {
            return spread != null && spread;
        }

        /** @return inline, store or xdt */
        public String transferOrDefault() {
            return transfer != null ? transfer : via != null ? via : "inline";
        }

        /** @return true when payloads go through the object store */
        public boolean viaStore() {
            return "store".equals(transferOrDefault());
        }
    }

    /**
     * @param mode {@code open} (arrivals follow the schedule, do not wait for answers) or {@code closed}
     * @param arrival the inter-arrival process of the open loop (closed loop: think time between calls)
     * @param concurrency closed loop: number of clients; open loop: requests in flight at most (default 64)
     * @param requests measured requests per sub-run (or durationS)
     * @param durationS length of a sub-run in seconds, instead of requests
     * @param mix {@code weighted} (default: each request picks a function at random by weight) or
     *     {@code rotate} (requests take the functions in turn: equal shares, interleaved, so that
     *     the functions compared see the same conditions over the run)
     */
    public record Load(String mode, Arrival arrival, Integer concurrency, Integer requests, Double durationS, String mix) {
        /** A load that mixes functions by weight. */
        public Load(String mode, Arrival arrival, Integer concurrency, Integer requests, Double durationS) {
            this(mode, arrival, concurrency, requests, durationS, null);
        }

        boolean open() {
            return mode == null || "open".equals(mode);
        }

        /** @return whether requests take the functions in turn (an equal share each) rather than by weight */
        boolean rotate() {
            return "rotate".equals(mix);
        }

        int concurrencyOrDefault() {
            return concurrency == null ? (open() ? 64 : 1) : concurrency;
        }
    }

    /**
     * @param type {@code fixed}, {@code exponential} (Poisson arrivals) or {@code bursty}
     * @param iatMs the (mean) inter-arrival time of fixed and exponential arrivals
     * @param burstSize bursty: requests sent at once
     * @param burstGapMs bursty: time between the starts of two bursts
     */
    public record Arrival(String type, Double iatMs, Integer burstSize, Double burstGapMs) {
    }

    /** @param parameter one of {@link #SWEEP_PARAMETERS}; @param values one sub-run per value, in order */
    public record Sweep(String parameter, List<Double> values) {
    }

    long seedOrDefault() {
        return seed == null ? 1L : seed;
    }

    boolean cleanupOrDefault() {
        return cleanup == null || cleanup;
    }

    // ---------------------------------------------------------------- parsing

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** Reads a {@code .json} file as JSON and anything else as YAML (a superset of JSON). */
    public static RunConfig read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read config " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json"), file.toString());
    }

    /** Parses and validates; errors name the source, the field and what is wrong. */
    static RunConfig parse(String text, boolean json, String source) {
        if (text.isBlank()) {
            throw new IllegalArgumentException("invalid config " + source + ": the file is empty");
        }
        RunConfig config;
        try {
            config = (json ? JSON : YAML).readValue(text, RunConfig.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("invalid config " + source + ": " + e.getOriginalMessage()
                    + locationOf(e), e);
        }
        if (config == null) {
            throw new IllegalArgumentException("invalid config " + source + ": the file is empty");
        }
        List<String> errors = config.problems();
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid config " + source + ":\n  " + String.join("\n  ", errors));
        }
        return config;
    }

    private static String locationOf(JsonProcessingException e) {
        String path = e instanceof com.fasterxml.jackson.databind.JsonMappingException m && !m.getPath().isEmpty()
                ? " (at " + m.getPathReference().replace("dev.thaw.bench.RunConfig", "") + ")" : "";
        return path + (e.getLocation() == null ? "" : " [line " + e.getLocation().getLineNr() + "]");
    }

    /** @throws IllegalArgumentException listing every problem */
    RunConfig validate() {
        List<String> errors = problems();
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid config:\n  " + String.join("\n  ", errors));
        }
        return this;
    }

    List<String> problems() {
        List<String> e = new ArrayList<>();
        if (target == null || target.url() == null || target.url().isBlank()) {
            e.add("target.url is required (a thaw node URL, or an HTTP endpoint with target.kind: http)");
        } else {
            try {
                URI u = URI.create(target.url());
                if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
                    e.add("target.url must be an http(s) URL, got '" + target.url() + "'");
                }
            } catch (IllegalArgumentException x) {
                e.add("target.url is not a URL: " + x.getMessage());
            }
            positive(e, "target.requestTimeoutS", target.requestTimeoutS());
        }
        if (target != null && target.kind() != null && !List.of("thaw", "http").contains(target.kind())) {
            e.add("target.kind must be 'thaw' or 'http', got '" + target.kind() + "'");
        }
        boolean thaw = target == null || target.thaw();
        if (functions == null || functions.isEmpty()) {
            e.add("functions: at least one function is required");
        } else {
            java.util.Set<String> names = new java.util.HashSet<>();
            for (int i = 0; i < functions.size(); i++) {
                checkFunction(e, "functions[" + i + "]", functions.get(i), thaw, names);
            }
        }
        if (load == null) {
            e.add("load is required (mode, arrival, requests or durationS)");
        } else {
            checkLoad(e, functions == null ? List.of() : functions);
        }
        if (sweep != null) {
            if (!SWEEP_PARAMETERS.contains(sweep.parameter())) {
                e.add("sweep.parameter must be one of " + SWEEP_PARAMETERS + ", got '" + sweep.parameter() + "'");
            }
            if (sweep.values() == null || sweep.values().isEmpty()) {
                e.add("sweep.values: give at least one value");
            } else if (sweep.values().stream().anyMatch(v -> v == null || v <= 0)) {
                e.add("sweep.values must all be > 0, got " + sweep.values());
            }
        }
        return e;
    }

    private static void checkFunction(List<String> e, String at, FunctionSpec f, boolean thaw, java.util.Set<String> names) {
        if (f == null) {
            e.add(at + " is empty");
            return;
        }
        if (f.name() == null || !FunctionManifest.isValidName(f.name()) || f.name().length() > 40) {
            e.add(at + ".name must be 1-40 letters, digits, '-' or '_' starting with a letter or digit, got '" + f.name() + "'");
        } else if (!names.add(f.name())) {
            e.add(at + ".name '" + f.name() + "' is used twice");
        }
        if (thaw) {
            if (f.jar() == null) {
                e.add(at + ".jar is required for thaw targets");
            }
            if (f.handler() == null) {
                e.add(at + ".handler is required for thaw targets");
            }
        }
        positive(e, at + ".memoryMb", f.memoryMb());
        positive(e, at + ".timeoutMs", f.timeoutMs());
        positive(e, at + ".maxInstances", f.maxInstances());
        if (f.weight() != null && !(f.weight() > 0)) {
            e.add(at + ".weight must be > 0, got " + f.weight());
        }
        if (f.warmup() != null && f.warmup() < 0) {
            e.add(at + ".warmup must be >= 0, got " + f.warmup());
        }
        if (f.payloadGenerator() != null) {
            if (f.payloadGenerator().sizeBytes() == null || f.payloadGenerator().sizeBytes() < 0) {
                e.add(at + ".payloadGenerator.sizeBytes is required and must be >= 0");
            }
            if (f.payloadOrNull() != null && !f.payloadOrNull().isObject()) {
                e.add(at + ".payload must be a JSON object when payloadGenerator adds a field to it");
            }
        }
        if (f.cold() != null) {
            positive(e, at + ".cold.replicas", f.cold().replicas());
            if (f.cold().replicasOrDefault() > 1 && f.cold().evictOrDefault()) {
                e.add(at + ".cold: choose replicas or evict, not both");
            }
            if (!thaw && f.coldSteered()) {
                e.add(at + ".cold: cold steering needs a thaw target (an HTTP endpoint cannot be evicted or replicated)");
            }
        }
        if (f.chain() != null) {
            if (f.chain().length() == null || f.chain().length() < 1 || f.chain().length() > 8) {
                e.add(at + ".chain.length must be 1..8 (one deployment per hop), got " + f.chain().length());
            }
            if (f.chain().payloadBytes() == null || f.chain().payloadBytes() < 0) {
                e.add(at + ".chain.payloadBytes is required and must be >= 0");
            }
            if (f.chain().via() != null && !f.chain().via().equals("inline") && !f.chain().via().equals("store")) {
                e.add(at + ".chain.via must be inline or store, got " + f.chain().via());
            }
            if (f.chain().spreadOrDefault() && !thaw) {
                e.add(at + ".chain.spread needs a thaw target (a cluster's front door)");
            }
            if (f.chain().transfer() != null && !Chain.TRANSFERS.contains(f.chain().transfer())) {
                e.add(at + ".chain.transfer must be inline, store or xdt, got " + f.chain().transfer());
            }
            if (f.chain().via() != null && f.chain().transfer() != null && !f.chain().via().equals(f.chain().transfer())) {
                e.add(at + ".chain: give transfer or via (its older name), not both");
            }
            if (!thaw) {
                e.add(at + ".chain needs a thaw target");
            }
            if (f.cold() != null && f.cold().replicasOrDefault() > 1) {
                e.add(at + ".chain cannot be combined with cold.replicas (use cold.evict)");
            }
            if (f.payloadOrNull() != null && !f.payloadOrNull().isObject()) {
                e.add(at + ".payload must be a JSON object for a chain");
            }
        }
    }

    private void checkLoad(List<String> e, List<FunctionSpec> fs) {
        if (load.mode() != null && !List.of("open", "closed").contains(load.mode())) {
            e.add("load.mode must be 'open' or 'closed', got '" + load.mode() + "'");
        }
        if ((load.requests() == null) == (load.durationS() == null)) {
            e.add("load: give exactly one of requests and durationS");
        }
        positive(e, "load.requests", load.requests());
        if (load.durationS() != null && !(load.durationS() > 0)) {
            e.add("load.durationS must be > 0, got " + load.durationS());
        }
        positive(e, "load.concurrency", load.concurrency());
        if (load.mix() != null && !List.of("weighted", "rotate").contains(load.mix())) {
            e.add("load.mix must be weighted or rotate, got '" + load.mix() + "'");
        }
        Arrival a = load.arrival();
        if (load.open() && a == null) {
            e.add("load.arrival is required in open loop (type: fixed | exponential | bursty)");
        }
        if (a != null) {
            String type = a.type();
            if (!List.of("fixed", "exponential", "bursty").contains(String.valueOf(type))) {
                e.add("load.arrival.type must be fixed, exponential or bursty, got '" + type + "'");
            } else if ("bursty".equals(type)) {
                if (a.burstSize() == null || a.burstSize() < 1) {
                    e.add("load.arrival.burstSize must be >= 1 for bursty arrivals");
                }
                if (a.burstGapMs() == null || a.burstGapMs() < 0) {
                    e.add("load.arrival.burstGapMs must be >= 0 for bursty arrivals");
                }
            } else if (a.iatMs() == null || a.iatMs() < 0 || ("exponential".equals(type) && a.iatMs() == 0)) {
                e.add("load.arrival.iatMs is required for " + type + " arrivals and must be "
                        + ("exponential".equals(type) ? "> 0" : ">= 0"));
            }
        }
        if (!load.open() && a != null && "bursty".equals(a.type())) {
            e.add("load.arrival.type bursty needs load.mode: open (a closed loop's arrival is its think time: fixed or exponential)");
        }
        if (load.open() && fs.stream().anyMatch(f -> f != null && f.cold() != null && f.cold().evictOrDefault())) {
            e.add("cold.evict needs load.mode: closed (evicting before a call cannot keep an open-loop schedule;"
                    + " use cold.replicas in open loop)");
        }
    }

    private static void positive(List<String> e, String field, Integer value) {
        if (value != null && value < 1) {
            e.add(field + " must be >= 1, got " + value);
        }
    }

    // ---------------------------------------------------------------- overrides and sweeps

    /** @return a copy with the target URL, seed, requests... replaced where the argument is not null */
    RunConfig withOverrides(String url, Long seed, Integer requests, Integer concurrency) {
        ObjectNode tree = JSON.valueToTree(this);
        if (url != null) {
            ((ObjectNode) tree.get("target")).put("url", url);
        }
        if (seed != null) {
            tree.put("seed", seed);
        }
        if (requests != null) {
            ((ObjectNode) tree.get("load")).put("requests", requests).remove("durationS");
        }
        if (concurrency != null) {
            ((ObjectNode) tree.get("load")).put("concurrency", concurrency);
        }
        return fromTree(tree).validate();
    }

    /** @return the configuration of the sub-run where the swept parameter has {@code value} */
    RunConfig withSweepValue(double value) {
        if (sweep == null) {
            return this;
        }
        ObjectNode tree = JSON.valueToTree(this);
        ObjectNode loadNode = (ObjectNode) tree.get("load");
        int intValue = (int) Math.round(value);
        switch (sweep.parameter()) {
            case "burstSize" -> arrivalNode(loadNode).put("burstSize", intValue);
            case "burstGapMs" -> arrivalNode(loadNode).put("burstGapMs", value);
            case "iatMs" -> arrivalNode(loadNode).put("iatMs", value);
            case "concurrency", "maxInFlight" -> loadNode.put("concurrency", intValue);
            case "requests" -> loadNode.put("requests", intValue).remove("durationS");
            case "payloadBytes" -> {
                for (JsonNode f : (ArrayNode) tree.get("functions")) {
                    if (f.hasNonNull("chain")) {
                        ((ObjectNode) f.get("chain")).put("payloadBytes", intValue);
                    }
                    if (f.hasNonNull("payloadGenerator")) {
                        ((ObjectNode) f.get("payloadGenerator")).put("sizeBytes", intValue);
                    }
                }
            }
            default -> throw new IllegalArgumentException("cannot sweep " + sweep.parameter());
        }
        tree.remove("sweep");
        return fromTree(tree).validate();
    }

    private static ObjectNode arrivalNode(ObjectNode load) {
        if (!load.hasNonNull("arrival")) {
            load.putObject("arrival");
        }
        return (ObjectNode) load.get("arrival");
    }

    private static RunConfig fromTree(ObjectNode tree) {
        try {
            return JSON.treeToValue(tree, RunConfig.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("invalid config: " + e.getOriginalMessage(), e);
        }
    }

    /** @return the configuration as JSON, written beside the results so a run can be repeated */
    String toJson() {
        try {
            return JSON.copy().setSerializationInclusion(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
                    .writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** @return a sweep value as written: integers without decimals */
    static String label(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15 ? Long.toString((long) value) : Double.toString(value);
    }
}
