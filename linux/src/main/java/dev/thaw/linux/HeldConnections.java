package dev.thaw.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The TCP connections a process tree holds open, read from {@code /proc}: every {@code socket:[inode]}
 * among the processes' descriptors, looked up in the TCP tables of the root's network namespace
 * ({@code /proc/ROOT/net/tcp} and {@code tcp6}). Listening sockets are not connections and are left
 * out; so are sockets in another namespace, which these tables do not list.
 *
 * <p>Why: a checkpoint restores a connection closed ({@code criu --tcp-close}), so a process whose
 * snapshot is taken while it holds one would find it dead in every clone.
 */
public final class HeldConnections {
    /** The kernel's TCP state of a listening socket ({@code TCP_LISTEN}), in the tables' hex. */
    private static final String LISTEN = "0A";
    private static final String[] STATES = {"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
        "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};

    private HeldConnections() {
    }

    /**
     * @param rootPid the tree's root; its descendants are read too
     * @return one line per connection held ({@code local -> remote STATE}), empty when there is none
     * @throws IOException when the root's tables cannot be read (the process is gone)
     */
    public static List<String> of(long rootPid) throws IOException {
        Set<String> inodes = new HashSet<>();
        List<Long> pids = new ArrayList<>();
        pids.add(rootPid);
        ProcessHandle.of(rootPid).ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
        for (long pid : pids) {
            inodes.addAll(socketInodes(Path.of("/proc", Long.toString(pid), "fd")));
        }
        List<String> held = new ArrayList<>();
        Path net = Path.of("/proc", Long.toString(rootPid), "net");
        for (String table : List.of("tcp", "tcp6")) {
            Path file = net.resolve(table);
            if (Files.exists(file)) {
                held.addAll(connections(Files.readAllLines(file), inodes));
            }
        }
        return held;
    }

    /** @return the inodes of the sockets among a process's descriptors (none when it is gone) */
    static Set<String> socketInodes(Path fdDir) {
        Set<String> inodes = new HashSet<>();
        try (Stream<Path> fds = Files.list(fdDir)) {
            fds.forEach(fd -> {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[") && target.endsWith("]")) {
                        inodes.add(target.substring("socket:[".length(), target.length() - 1));
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            });
        } catch (IOException e) {
            // the process is gone
        }
        return inodes;
    }

    /**
     * @param lines a TCP table of {@code /proc/net}, its header first
     * @param inodes the sockets to look for
     * @return those of them that are connections, not listeners: {@code local -> remote STATE}
     */
    static List<String> connections(List<String> lines, Set<String> inodes) {
        List<String> held = new ArrayList<>();
        for (String line : lines.subList(Math.min(1, lines.size()), lines.size())) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 10 || !inodes.contains(f[9]) || f[3].equalsIgnoreCase(LISTEN)) {
                continue;
            }
            held.add(address(f[1]) + " -> " + address(f[2]) + " " + state(f[3]));
        }
        return held;
    }

    private static String state(String hex) {
        int s = Integer.parseInt(hex, 16);
        return s > 0 && s < STATES.length ? STATES[s] : "state " + hex;
    }

    /** @return {@code 127.0.0.1:9002} from {@code 0100007F:2332}; an IPv6 address stays in the table's hex */
    static String address(String field) {
        int colon = field.indexOf(':');
        String host = field.substring(0, colon);
        int port = Integer.parseInt(field.substring(colon + 1), 16);
        if (host.length() != 8) {
            return "[" + host.toLowerCase(Locale.ROOT) + "]:" + port;
        }
        long ip = Long.parseLong(host, 16); // little-endian as the kernel prints it
        return (ip & 0xFF) + "." + (ip >> 8 & 0xFF) + "." + (ip >> 16 & 0xFF) + "." + (ip >> 24 & 0xFF) + ":" + port;
    }
}
