package dev.thaw.egress;

import java.net.InetAddress;
import java.util.Optional;

/**
 * One pattern of the allow list: a host (any, a name, a {@code *.suffix}, or an IP literal) and a
 * port (one, or any).
 *
 * @param text the pattern as the operator wrote it
 * @param name a host name or a suffix (with its leading dot); null for the others
 * @param literal the address of an IP-literal pattern; null for the others
 * @param port 1-65535, or 0 for any
 */
record AllowPattern(String text, Kind kind, String name, InetAddress literal, int port) {

    /** What the host part is. */
    enum Kind { ANY_HOST, NAME, SUFFIX, LITERAL }

    private static final String FORMS = "host:port, *.suffix:port, host:*, *:port or *";

    /** @throws IllegalArgumentException naming the pattern and what is wrong with it */
    static AllowPattern parse(String text) {
        String t = text == null ? "" : text.strip();
        if (t.isEmpty()) {
            throw bad(text, "it is empty");
        }
        if (t.equals("*")) {
            return new AllowPattern(t, Kind.ANY_HOST, null, null, 0);
        }
        String host;
        String port;
        if (t.startsWith("[")) {
            int close = t.indexOf(']');
            if (close < 0 || !t.startsWith(":", close + 1)) {
                throw bad(text, "an IPv6 address is written [address]:port");
            }
            host = t.substring(1, close);
            port = t.substring(close + 2);
            if (Hosts.literal(host).isEmpty()) {
                throw bad(text, "'" + host + "' is not an IPv6 address");
            }
        } else {
            int colon = t.lastIndexOf(':');
            if (colon < 0) {
                throw bad(text, "it has no port (use host:* for any port)");
            }
            host = t.substring(0, colon);
            port = t.substring(colon + 1);
            if (host.contains(":")) {
                throw bad(text, "an IPv6 address is written in brackets, as [::1]:443");
            }
        }
        return host(text, t, host, port(text, port));
    }

    private static AllowPattern host(String text, String t, String rawHost, int port) {
        if (rawHost.equals("*")) {
            return new AllowPattern(t, Kind.ANY_HOST, null, null, port);
        }
        String host = Hosts.normalize(rawHost);
        if (rawHost.startsWith("*.")) {
            String suffix = Hosts.normalize(rawHost.substring(2));
            if (!Hosts.isName(suffix)) {
                throw bad(text, "'" + suffix + "' after '*.' is not a host name");
            }
            return new AllowPattern(t, Kind.SUFFIX, "." + suffix, null, port);
        }
        if (host.contains("*")) {
            throw bad(text, "a wildcard stands only for the whole host (*) or its first labels (*.suffix)");
        }
        Optional<InetAddress> literal = Hosts.literal(host);
        if (literal.isPresent()) {
            return new AllowPattern(t, Kind.LITERAL, null, literal.get(), port);
        }
        if (!Hosts.isName(host)) {
            throw bad(text, "'" + rawHost + "' is neither a host name nor an IP address");
        }
        return new AllowPattern(t, Kind.NAME, host, null, port);
    }

    private static int port(String text, String port) {
        if (port.equals("*")) {
            return 0;
        }
        try {
            int p = Integer.parseInt(port);
            if (p >= 1 && p <= 65_535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw bad(text, "the port '" + port + "' is neither 1-65535 nor *");
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("bad egress pattern '" + text + "': " + why + " (the forms: " + FORMS + ")");
    }

    boolean matchesPort(int p) {
        return port == 0 || port == p;
    }

    /** @return whether this pattern allows a target named {@code host} (a normalized DNS name) */
    boolean matchesName(String host, int p) {
        if (!matchesPort(p)) {
            return false;
        }
        return switch (kind) {
            case ANY_HOST -> true;
            case NAME -> name.equals(host);
            case SUFFIX -> host.endsWith(name) && host.length() > name.length();
            case LITERAL -> false;
        };
    }

    /** @return whether this pattern allows a target given as the IP literal {@code a} */
    boolean matchesLiteral(InetAddress a, int p) {
        return matchesPort(p) && (kind == Kind.ANY_HOST || kind == Kind.LITERAL && literal.equals(a));
    }

    /** @return whether this pattern is exactly {@code a:p} (which lets even a refused address through) */
    boolean isExactly(InetAddress a, int p) {
        return kind == Kind.LITERAL && port == p && literal.equals(a);
    }
}
