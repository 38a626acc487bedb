package dev.thaw.cluster;

import java.net.URI;

/**
 * A node in a JVM of its own, for tests that kill it: joins the cluster, optionally claims a boot,
 * prints "ready", then waits to be killed. Arguments: endpoint cluster node [function version].
 */
public final class MemberProcess {
    private MemberProcess() {
    }

    public static void main(String[] args) throws Exception {
        Coordination c = Coordination.connect(Fixtures.config(URI.create(args[0]), args[1], args[2]).build());
        c.membership().join(Fixtures.member(args[2]));
        if (args.length > 4) {
            Claim claim = c.catalog().claim(args[3], Long.parseLong(args[4]));
            if (!(claim instanceof Claim.Won)) {
                throw new IllegalStateException("expected to win the claim, got " + claim);
            }
        }
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    /** Starts a member process of the current class path; returns once it is ready. */
    static Process start(URI endpoint, String cluster, String node, String... claim) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                ProcessHandle.current().info().command().orElse("java"),
                "-cp", System.getProperty("java.class.path"),
                "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                MemberProcess.class.getName(), endpoint.toString(), cluster, node));
        cmd.addAll(java.util.List.of(claim));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()));
        StringBuilder seen = new StringBuilder();
        for (String line; (line = out.readLine()) != null; ) {
            if (line.equals("ready")) {
                Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));   // drain
                return p;
            }
            seen.append(line).append('\n');
        }
        p.destroyForcibly();
        throw new AssertionError("member process " + node + " exited before it was ready:\n" + seen);
    }
}
