package dev.thaw.sandbox;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Runs inside a sandboxed instance (only JDK classes: it is copied alone into the instance's code
 * directory) and answers commands read from stdin, one per line, with one line {@code = ...} on
 * stdout: what it is, and what it can and cannot do. Never throws: a failure is an answer
 * ({@code = error <type>: <message>}).
 */
public final class SandboxProbe {
    private static final List<Object> HELD = new ArrayList<>();

    private SandboxProbe() {
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        out.println("= ready");
        String line;
        while ((line = in.readLine()) != null) {
            String answer;
            try {
                answer = answer(line.strip().split(" ", 3));
            } catch (Throwable t) {
                answer = "error " + t.getClass().getSimpleName() + ": " + t.getMessage();
            }
            out.println("= " + answer);
        }
    }

    private static String answer(String[] c) throws Throwable {
        switch (c[0]) {
            case "status": {
                List<String> status = Files.readAllLines(Path.of("/proc/self/status"));
                return Stream.of("Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "NSpid")
                        .map(k -> k + "=" + status.stream().filter(l -> l.startsWith(k + ":")).findFirst()
                                .map(l -> l.substring(k.length() + 1).strip().replaceAll("\\s+", ",")).orElse("?"))
                        .collect(Collectors.joining(" ")) + " user=" + System.getProperty("user.name")
                        + " home=" + System.getProperty("user.home") + " cwd=" + new File("").getAbsolutePath();
            }
            case "read":
                return "ok " + Files.readAllBytes(Path.of(c[1])).length + " " + new String(Files.readAllBytes(Path.of(c[1])),
                        StandardCharsets.UTF_8).lines().findFirst().orElse("");
            case "write": {
                byte[] bytes = new byte[Integer.parseInt(c[2])];
                Arrays.fill(bytes, (byte) 'x');
                Files.write(Path.of(c[1]), bytes);
                return "ok";
            }
            case "text":
                Files.writeString(Path.of(c[1]), c[2]);
                return "ok";
            case "list":
                try (Stream<Path> s = Files.list(Path.of(c[1]))) {
                    return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.joining(","));
                }
            case "hold": {
                RandomAccessFile f = new RandomAccessFile(c[1], "rw");
                f.write("held".getBytes(StandardCharsets.UTF_8));
                HELD.add(f);
                return "ok";
            }
            case "connect":
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(c[1])), 2000);
                    s.getOutputStream().write("ping\n".getBytes(StandardCharsets.UTF_8));
                    String reply = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
                    return "reply " + reply;
                }
            case "native":
                return syscall(c[1]);
            case "alloc": {
                int mb = Integer.parseInt(c[1]);
                for (int i = 0; i < mb; i++) {
                    byte[] block = new byte[1 << 20];
                    for (int j = 0; j < block.length; j += 4096) {
                        block[j] = 1;
                    }
                    HELD.add(block);
                }
                return "ok " + mb;
            }
            case "exec": {
                Process p = new ProcessBuilder(buildCommand(c)).redirectErrorStream(true).start();
                String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                return "exit " + p.waitFor() + " " + output.replace('\n', '|');
            }
            case "sh": {
                Process p = new ProcessBuilder("/bin/sh", "-c", c[1] + (c.length > 2 ? " " + c[2] : "")).redirectErrorStream(true).start();
                String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                return "exit " + p.waitFor() + " " + output.replace('\n', '|');
            }
            case "pid":
                return Long.toString(ProcessHandle.current().pid());
            case "hostname":
                return java.net.InetAddress.getLocalHost().getHostName();
            default:
                return "error unknown command " + c[0];
        }
    }

    private static List<String> buildCommand(String[] c) {
        List<String> cmd = new ArrayList<>(List.of(c[1]));
        if (c.length > 2) {
            cmd.addAll(List.of(c[2].split(" ")));
        }
        return cmd;
    }

    /** Calls a system call the sandbox must refuse; answers its result and errno. */
    private static String syscall(String which) throws Throwable {
        Linker linker = Linker.nativeLinker();
        Linker.Option errno = Linker.Option.captureCallState("errno");
        var capture = Linker.Option.captureStateLayout();
        var errnoHandle = capture.varHandle(MemoryLayout.PathElement.groupElement("errno"));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(capture);
            int r;
            switch (which) {
                case "mount": {
                    MethodHandle h = linker.downcallHandle(linker.defaultLookup().find("mount").orElseThrow(), FunctionDescriptor.of(
                            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                            ValueLayout.ADDRESS), errno);
                    r = (int) h.invokeExact(state, arena.allocateFrom("none"), arena.allocateFrom("/tmp"), arena.allocateFrom("tmpfs"),
                            0L, MemorySegment.NULL);
                    break;
                }
                case "unshare": {
                    MethodHandle h = linker.downcallHandle(linker.defaultLookup().find("unshare").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno);
                    r = (int) h.invokeExact(state, 0x10000000); // CLONE_NEWUSER
                    break;
                }
                case "ptrace": {
                    MethodHandle h = linker.downcallHandle(linker.defaultLookup().find("ptrace").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
                                    ValueLayout.ADDRESS, ValueLayout.ADDRESS), Linker.Option.firstVariadicArg(1), errno);
                    r = (int) (long) h.invokeExact(state, 16L, 1, MemorySegment.NULL, MemorySegment.NULL); // PTRACE_ATTACH to pid 1
                    break;
                }
                default:
                    return "error unknown call " + which;
            }
            return "rc=" + r + " errno=" + (int) errnoHandle.get(state, 0L);
        }
    }
}
