package dev.thaw.workloads;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Every workload of this JAR, by name: what to deploy ({@code handler}), what to send
 * ({@code defaultPayload}) and how much memory to give it. The benchmark and the tests deploy
 * workloads from here, so a new workload is one entry.
 */
public final class Workloads {

    /** Where the workloads' JAR is built, relative to the repository root. */
    public static final String JAR = "workloads/target/thaw-workloads.jar";

    /**
     * One workload.
     *
     * @param name kebab-case name, also a good function name
     * @param handlerClass the class implementing {@code dev.thaw.api.Handler}
     * @param defaultPayload a JSON event that gives a typical invocation (tens of ms at most on one core)
     * @param memoryMb suggested memory limit, in MB
     * @param ports the FunctionBench workload it ports, or what it is for when it is synthetic
     */
    public record Workload(String name, Class<?> handlerClass, String defaultPayload, int memoryMb, String ports) {

        /** @return the handler name to deploy: {@code class::handle} */
        public String handler() {
            return handlerClass.getName() + "::handle";
        }
    }

    private static final List<Workload> ALL = List.of(
            new Workload("busy-spin", BusySpin.class, "{\"serviceMs\":50,\"touchMb\":16}", 256,
                    "synthetic: CPU time and memory-image size (env PADDING_MB)"),
            new Workload("chain", Chain.class, "{\"remaining\":2,\"payloadBytes\":1024}", 256,
                    "synthetic: function-to-function calls through the node (THAW_NODE_URL, NEXT_FUNCTION; deploy with --may-invoke NEXT)"),
            new Workload("json", JsonWorkload.class, "{\"size\":1000}", 256, "json_dumps_loads"),
            new Workload("image", ImageWorkload.class, "{\"width\":320,\"height\":240}", 384, "image_processing"),
            new Workload("aes", AesWorkload.class, "{\"messageBytes\":65536,\"rounds\":10}", 256, "pyaes"),
            new Workload("matmul", MatmulWorkload.class, "{\"n\":200}", 256, "matmul"),
            new Workload("template", TemplateWorkload.class, "{\"rows\":100,\"cols\":10}", 256, "chameleon"),
            new Workload("compression", CompressionWorkload.class, "{\"sizeKb\":512}", 256, "compression"),
            new Workload("ml", MlWorkload.class, "{\"features\":[[2.0,1.5],[-2.0,-1.0]]}", 256,
                    "model_training and ml_lr_prediction (logistic regression)"));

    private static final Map<String, Workload> BY_NAME = index();

    private Workloads() {
    }

    /** @return every workload, in a fixed order */
    public static List<Workload> all() {
        return ALL;
    }

    /** @return the names of every workload, in the order of {@link #all()} */
    public static List<String> names() {
        return ALL.stream().map(Workload::name).toList();
    }

    /**
     * @return the workload called {@code name}
     * @throws NoSuchElementException naming the known workloads, when there is none
     */
    public static Workload byName(String name) {
        Workload workload = BY_NAME.get(name);
        if (workload == null) {
            throw new NoSuchElementException("no workload '" + name + "'; known: " + String.join(", ", names()));
        }
        return workload;
    }

    /**
     * @return the memory limit, in MB, that gives busy-spin room for {@code paddingMb} MiB of padding:
     *     the node gives the heap three quarters of the limit
     */
    public static int busySpinMemoryMb(int paddingMb) {
        return Math.max(byName("busy-spin").memoryMb(), (paddingMb + 64) * 4 / 3 + 64);
    }

    private static Map<String, Workload> index() {
        Map<String, Workload> index = new LinkedHashMap<>();
        for (Workload w : ALL) {
            if (index.put(w.name(), w) != null) {
                throw new IllegalStateException("two workloads named " + w.name());
            }
        }
        return Map.copyOf(index);
    }
}
