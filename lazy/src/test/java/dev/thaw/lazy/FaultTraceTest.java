package dev.thaw.lazy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Where the time of one on-demand fault goes, measured with the kernel's own tracepoints (ftrace):
 * not a test but a probe, run only with {@code -Dthaw.lazy.ftrace=true}, as root, with tracefs
 * mounted at {@code /sys/kernel/tracing}. It restores the 64 MB target lazily (one page per fault),
 * has it sum its array while tracing scheduler switches and wake-ups, user page faults and the
 * daemon thread's system calls, and splits each fault's round trip into:
 *
 * <ol>
 *   <li>fault → daemon woken: the kernel's fault path up to queueing the uffd message;</li>
 *   <li>daemon wake-up latency: from that wake-up to the daemon thread running on a CPU;</li>
 *   <li>daemon user time before the copy: poll returning, reading the message, the page source
 *       read and the Java around them, up to entering UFFDIO_COPY;</li>
 *   <li>UFFDIO_COPY itself;</li>
 *   <li>target wake-up latency: from the copy waking the faulting thread to that thread running;</li>
 *   <li>target run until its next fault (on the array: a few hundred nanoseconds of summing).</li>
 * </ol>
 *
 * The trace is left as it was found: events off, filters cleared, clock, buffer size and tracing_on restored.
 */
@EnabledIfSystemProperty(named = "thaw.lazy.ftrace", matches = "true")
class FaultTraceTest {
    private static final Path TRACING = Path.of("/sys/kernel/tracing");
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String[] EVENTS = {"sched/sched_switch", "sched/sched_waking", "exceptions/page_fault_user",
            "raw_syscalls/sys_enter", "raw_syscalls/sys_exit"};
    private static final int NR_READ = 0;
    private static final int NR_POLL = 7;
    private static final int NR_IOCTL = 16;
    private static final int NR_PREAD = 17;

    @Test
    void tracesWhereTheTimeOfAFaultGoes() throws Exception {
        CriuFixture.assumeCriu();
        assertThat(TRACING.resolve("trace")).as("tracefs mounted at " + TRACING).exists();
        int runs = Integer.getInteger("thaw.lazy.ftrace.runs", 3);
        int faultAround = Integer.getInteger("thaw.lazy.ftrace.faultAround", 1);
        String command = System.getProperty("thaw.lazy.ftrace.command", "sum");
        try (CriuFixture fixture = CriuFixture.dumpedTarget(); PageSource files = PageSource.files(fixture.images)) {
            ImageIndex index = ImageIndex.load(fixture.images);
            String expected = "sum=" + Long.toHexString(LazyTarget.expectedArrayChecksum((int) (CriuFixture.ARRAY_MB * LazyTarget.MB / 8)));
            for (int run = 0; run < runs; run++) {
                traceOneRestore(fixture, index, files, command, expected, run, faultAround);
            }
        }
    }

    private void traceOneRestore(CriuFixture fixture, ImageIndex index, PageSource files, String command, String expected,
                                 int run, int faultAround) throws Exception {
        Path work = fixture.workDir("t" + run);
        String clock = selected(read("trace_clock"));
        String bufferKb = read("buffer_size_kb").strip().split(" ")[0]; // "7 (expanded: 1408)" before first use
        String tracingOn = read("tracing_on").strip();
        LazyPages.Options options = LazyPages.Options.of(work, index, files).withFaultAroundPages(faultAround);
        long spinMicros = Long.getLong("thaw.lazy.ftrace.spinMicros", 0);
        if (spinMicros > 0) {
            options = options.withSpinAfterFault(Duration.ofNanos(spinMicros * 1000));
        }
        try (LazyPagesServer server = LazyPages.start(options)) {
            int daemon = daemonTid();
            String nice = System.getProperty("thaw.lazy.ftrace.nice");
            if (nice != null) { // an experiment: does the daemon's priority change its wake-up latency?
                Process p = new ProcessBuilder("renice", "-n", nice, "-p", Integer.toString(daemon)).inheritIO().start();
                assertThat(p.waitFor()).isZero();
            }
            String policy = System.getProperty("thaw.lazy.ftrace.chrt");
            if (policy != null) { // for example "-f 10" (SCHED_FIFO 10) or "-r 10"
                String[] words = policy.split(" ");
                List<String> cmd = List.of("chrt", words[0], "-p", words[1], Integer.toString(daemon));
                Process p = new ProcessBuilder(cmd).inheritIO().start();
                assertThat(p.waitFor()).isZero();
            }
            write("tracing_on", "0");
            write("set_event", "");
            write("trace_clock", "mono");
            write("buffer_size_kb", "131072");
            write("events/raw_syscalls/sys_enter/filter", "common_pid == " + daemon);
            write("events/raw_syscalls/sys_exit/filter", "common_pid == " + daemon);
            boolean tracing = !Boolean.getBoolean("thaw.lazy.ftrace.off"); // off: the same restores, timed only
            for (String e : EVENTS) {
                write("events/" + e + "/enable", tracing ? "1" : "0");
            }
            write("trace", "");
            try (CriuFixture.Restore restore = fixture.restore(work, true)) {
                long pid = restore.pid(WAIT);
                Thread.sleep(300); // let the restored JVM settle: its own threads fault at first too
                String daemonCpu = System.getProperty("thaw.lazy.ftrace.daemonCpu");
                String targetCpu = System.getProperty("thaw.lazy.ftrace.targetCpu");
                if (daemonCpu != null) { // an experiment: the daemon and the target on one CPU, or on two
                    run("taskset", "-p", "-c", daemonCpu, Integer.toString(daemon));
                }
                if (targetCpu != null) {
                    run("taskset", "-a", "-p", "-c", targetCpu, Long.toString(pid));
                }
                write("tracing_on", "1");
                long cpuBefore = onCpuNanos(daemon);
                long start = System.nanoTime();
                String answer = restore.command(command, WAIT);
                long micros = (System.nanoTime() - start) / 1000;
                write("tracing_on", "0");
                assertThat(answer).isEqualTo(expected);
                Set<Integer> targets = threadsOf(pid);
                System.out.printf("ftrace run %d (faultAround %d): \"%s\" answered in %d ms, daemon on CPU %d ms; %s%n", run,
                        faultAround, command, micros / 1000, (onCpuNanos(daemon) - cpuBefore) / 1_000_000, server.stats());
                if (tracing) {
                    System.out.print(analyse(daemon, targets).report());
                }
            }
        } finally {
            write("tracing_on", "0");
            write("set_event", "");
            write("events/raw_syscalls/sys_enter/filter", "0");
            write("events/raw_syscalls/sys_exit/filter", "0");
            write("trace", "");
            write("trace_clock", clock);
            write("buffer_size_kb", bufferKb);
            write("tracing_on", tracingOn);
        }
    }

    // ------------------------------------------------------------------ analysis

    private static final Pattern LINE = Pattern.compile("^\\s*(.+)-(\\d+)\\s+\\[(\\d+)\\]\\s+\\S+\\s+(\\d+)\\.(\\d+): (\\w+): (.*)$");
    private static final Pattern NUM = Pattern.compile("(\\w+)=(\\S+)");

    /** Per-fault intervals in microseconds, by name, in the order of the round trip. */
    private static final class Breakdown {
        final Map<String, List<Long>> intervals = new LinkedHashMap<>();
        int sameCpuDaemonWakeups;
        int daemonWakeups;
        int faultsWhileDaemonAwake;
        long firstFault = -1;
        long lastFault;
        int uffdFaults;

        void add(String name, long micros) {
            intervals.computeIfAbsent(name, k -> new ArrayList<>()).add(micros);
        }

        String report() {
            StringBuilder out = new StringBuilder();
            out.append(String.format("  %d faults answered by UFFDIO_COPY in %d ms of summing: %.1f µs per fault round trip%n",
                    uffdFaults, (lastFault - firstFault) / 1000, uffdFaults == 0 ? 0.0 : (lastFault - firstFault) / (double) uffdFaults));
            out.append(String.format("  daemon woken %d times (%d on the faulting thread's CPU); %d faults found the daemon awake%n",
                    daemonWakeups, sameCpuDaemonWakeups, faultsWhileDaemonAwake));
            out.append(String.format("  %-44s %8s %8s %8s %8s %8s%n", "interval (µs, ftrace resolution 1 µs)", "count", "mean",
                    "p50", "p90", "p99"));
            intervals.forEach((name, values) -> {
                List<Long> sorted = values.stream().sorted().toList();
                double mean = values.stream().mapToLong(Long::longValue).average().orElse(0);
                out.append(String.format("  %-44s %8d %8.1f %8d %8d %8d%n", name, values.size(), mean, at(sorted, 0.5),
                        at(sorted, 0.9), at(sorted, 0.99)));
            });
            return out.toString();
        }

        private static long at(List<Long> sorted, double q) {
            return sorted.isEmpty() ? 0 : sorted.get(Math.min(sorted.size() - 1, (int) (q * sorted.size())));
        }
    }

    private Breakdown analyse(int daemon, Set<Integer> targets) throws IOException {
        Breakdown b = new Breakdown();
        b.intervals.put("1 fault -> daemon woken", new ArrayList<>());
        b.intervals.put("2 daemon wake-up latency", new ArrayList<>());
        b.intervals.put("3 daemon: poll return -> UFFDIO_COPY", new ArrayList<>());
        b.intervals.put("3a   of which the page source read (pread)", new ArrayList<>());
        b.intervals.put("3b   of which the uffd read", new ArrayList<>());
        b.intervals.put("4 UFFDIO_COPY", new ArrayList<>());
        b.intervals.put("5 target wake-up latency", new ArrayList<>());
        b.intervals.put("6 target runs until its next fault", new ArrayList<>());
        b.intervals.put("  daemon: copy done -> back in poll", new ArrayList<>());
        b.intervals.put("  daemon off CPU (poll asleep) per wait", new ArrayList<>());

        Map<Integer, Long> lastFault = new HashMap<>();
        Map<Integer, Long> targetWaking = new HashMap<>();
        Map<Integer, Long> targetRunning = new HashMap<>();
        Set<Integer> wokenByCopy = new HashSet<>();
        long daemonWaking = -1;
        int wakerCpu = -1;
        boolean daemonOnCpu = true;
        long daemonOffAt = -1;
        long pollReturn = -1;
        long syscallEnter = -1;
        int syscallNr = -1;
        boolean inCopy = false;
        long copyExit = -1;
        try (BufferedReader in = Files.newBufferedReader(TRACING.resolve("trace"), StandardCharsets.UTF_8)) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                Matcher m = LINE.matcher(line);
                if (!m.matches()) {
                    continue;
                }
                int pid = Integer.parseInt(m.group(2));
                int cpu = Integer.parseInt(m.group(3));
                long t = Long.parseLong(m.group(4)) * 1_000_000 + Long.parseLong(m.group(5));
                String event = m.group(6);
                Map<String, String> f = fields(m.group(7));
                switch (event) {
                    case "page_fault_user" -> {
                        if (!targets.contains(pid)) {
                            break;
                        }
                        Long ran = targetRunning.remove(pid);
                        if (ran != null && wokenByCopy.remove(pid)) {
                            b.add("6 target runs until its next fault", t - ran);
                        }
                        lastFault.put(pid, t);
                        if (daemonOnCpu) {
                            b.faultsWhileDaemonAwake++;
                        }
                    }
                    case "sched_waking" -> {
                        int wakee = Integer.parseInt(f.get("pid"));
                        if (wakee == daemon && targets.contains(pid)) {
                            Long fault = lastFault.remove(pid);
                            if (fault != null) {
                                b.add("1 fault -> daemon woken", t - fault);
                            }
                            daemonWaking = t;
                            wakerCpu = cpu;
                        } else if (pid == daemon && targets.contains(wakee) && inCopy) {
                            targetWaking.put(wakee, t);
                        }
                    }
                    case "sched_switch" -> {
                        int prev = Integer.parseInt(f.get("prev_pid"));
                        int next = Integer.parseInt(f.get("next_pid"));
                        if (prev == daemon) {
                            daemonOnCpu = false;
                            daemonOffAt = t;
                        }
                        if (next == daemon) {
                            daemonOnCpu = true;
                            if (daemonWaking >= 0) {
                                b.add("2 daemon wake-up latency", t - daemonWaking);
                                b.daemonWakeups++;
                                if (wakerCpu == cpu) {
                                    b.sameCpuDaemonWakeups++;
                                }
                                daemonWaking = -1;
                            }
                            if (daemonOffAt >= 0) {
                                b.add("  daemon off CPU (poll asleep) per wait", t - daemonOffAt);
                            }
                        }
                        Long waking = targetWaking.remove(next);
                        if (waking != null) {
                            b.add("5 target wake-up latency", t - waking);
                            targetRunning.put(next, t);
                            wokenByCopy.add(next);
                        }
                    }
                    case "sys_enter" -> {
                        if (pid != daemon) {
                            break;
                        }
                        syscallNr = syscallNumber(m.group(7));
                        syscallEnter = t;
                        if (syscallNr == NR_IOCTL && m.group(7).contains(", c028aa03,")) {
                            inCopy = true;
                            if (pollReturn >= 0) {
                                b.add("3 daemon: poll return -> UFFDIO_COPY", t - pollReturn);
                                pollReturn = -1;
                            }
                        } else if (syscallNr == NR_POLL && copyExit >= 0) {
                            b.add("  daemon: copy done -> back in poll", t - copyExit);
                            copyExit = -1;
                        }
                    }
                    case "sys_exit" -> {
                        if (pid != daemon) {
                            break;
                        }
                        int nr = syscallNumber(m.group(7));
                        if (nr == NR_POLL) {
                            pollReturn = t;
                        } else if (nr == NR_PREAD && syscallNr == NR_PREAD) {
                            b.add("3a   of which the page source read (pread)", t - syscallEnter);
                        } else if (nr == NR_READ && syscallNr == NR_READ) {
                            b.add("3b   of which the uffd read", t - syscallEnter);
                        } else if (nr == NR_IOCTL && inCopy) {
                            inCopy = false;
                            b.add("4 UFFDIO_COPY", t - syscallEnter);
                            copyExit = t;
                            b.uffdFaults++;
                            if (b.firstFault < 0) {
                                b.firstFault = t;
                            }
                            b.lastFault = t;
                        }
                    }
                    default -> {
                    }
                }
            }
        }
        return b;
    }

    private static int syscallNumber(String payload) {
        int at = payload.indexOf("NR ") + 3;
        int end = at;
        while (end < payload.length() && Character.isDigit(payload.charAt(end))) {
            end++;
        }
        return Integer.parseInt(payload.substring(at, end));
    }

    private static Map<String, String> fields(String payload) {
        Map<String, String> out = new HashMap<>();
        Matcher m = NUM.matcher(payload);
        while (m.find()) {
            out.putIfAbsent(m.group(1), m.group(2));
        }
        return out;
    }

    // ------------------------------------------------------------------ plumbing

    private static int daemonTid() throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path task : tasks.toList()) {
                    try {
                        if (Files.readString(task.resolve("comm")).strip().startsWith("thaw-lazy-page")) {
                            return Integer.parseInt(task.getFileName().toString());
                        }
                    } catch (IOException e) {
                        // the thread ended meanwhile
                    }
                }
            }
            Thread.sleep(1); // the thread names itself once it runs
        }
        throw new IllegalStateException("no thaw-lazy-pages thread");
    }

    private static Set<Integer> threadsOf(long pid) throws IOException {
        Set<Integer> tids = new HashSet<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            tasks.forEach(t -> tids.add(Integer.parseInt(t.getFileName().toString())));
        }
        return tids;
    }

    /** @return the thread's time on a CPU so far (the first field of its schedstat) */
    private static long onCpuNanos(int tid) throws IOException {
        String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/schedstat"));
        return Long.parseLong(stat.substring(0, stat.indexOf(' ')));
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertThat(p.waitFor()).as(String.join(" ", command)).isZero();
    }

    private static String selected(String clocks) {
        Matcher m = Pattern.compile("\\[(\\S+)\\]").matcher(clocks);
        return m.find() ? m.group(1) : "local";
    }

    private static String read(String file) throws IOException {
        return Files.readString(TRACING.resolve(file));
    }

    private static void write(String file, String value) throws IOException {
        Files.writeString(TRACING.resolve(file), value + "\n");
    }
}
