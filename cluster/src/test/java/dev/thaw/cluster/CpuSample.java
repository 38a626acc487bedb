package dev.thaw.cluster;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * CPU time spent over a wall-clock interval: by the whole process, and by the threads of the cluster
 * handles and their etcd client stack (thaw-cluster-*, Vert.x, gRPC, Netty), apart from the JVM's own
 * (JIT compilers and GC, which finish earlier work at their own pace).
 */
record CpuSample(long wallNanos, long processNanos, long clientNanos, Map<String, Long> topThreads) {

    static CpuSample over(Duration interval) throws InterruptedException {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Map<Long, Long> before = perThread(threads);
        long process0 = os.getProcessCpuTime();
        long wall0 = System.nanoTime();
        Thread.sleep(interval.toMillis());
        long wall = System.nanoTime() - wall0;
        long process = os.getProcessCpuTime() - process0;
        Map<String, Long> byName = new HashMap<>();
        long client = 0;
        for (Map.Entry<Long, Long> e : perThread(threads).entrySet()) {
            long spent = e.getValue() - before.getOrDefault(e.getKey(), 0L);
            var info = threads.getThreadInfo(e.getKey());
            if (info == null || spent <= 0) {
                continue;
            }
            String name = info.getThreadName();
            byName.merge(name.replaceAll("-?\\d+$", ""), spent, Long::sum);
            if (name.startsWith("thaw-cluster-") || name.startsWith("vert.x-") || name.startsWith("grpc-")
                    || name.contains("jetcd") || name.contains("netty")) {
                client += spent;
            }
        }
        Map<String, Long> top = byName.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(5)
                .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue, (x, y) -> x, java.util.LinkedHashMap::new));
        return new CpuSample(wall, process, client, top);
    }

    private static Map<Long, Long> perThread(ThreadMXBean threads) {
        Map<Long, Long> m = new HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            long t = threads.getThreadCpuTime(id);
            if (t > 0) {
                m.put(id, t);
            }
        }
        return m;
    }

    double processShare() {
        return (double) processNanos / wallNanos;
    }

    double clientShare() {
        return (double) clientNanos / wallNanos;
    }

    @Override
    public String toString() {
        return String.format("process %.1f %% of one core, cluster handles and etcd client threads %.2f %%; busiest threads (ms): %s",
                processShare() * 100, clientShare() * 100,
                topThreads.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue() / 1_000_000).collect(Collectors.joining(", ")));
    }
}
