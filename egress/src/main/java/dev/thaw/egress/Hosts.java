package dev.thaw.egress;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/** Host names and addresses as the policy compares them, and the addresses it refuses. */
final class Hosts {
    private static final Pattern LABEL = Pattern.compile("[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?");
    private static final Pattern DIGITS_AND_DOTS = Pattern.compile("[0-9.]+");
    /** The cloud metadata service's IPv6 address (AWS); its IPv4 one is 169.254.169.254. */
    private static final InetAddress METADATA_V6 = InetAddress.ofLiteral("fd00:ec2::254");
    private static final InetAddress METADATA_V4 = InetAddress.ofLiteral("169.254.169.254");

    private Hosts() {
    }

    /** @return the host lower-cased, without IPv6 brackets or a name's trailing dot */
    static String normalize(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return h.endsWith(".") && !h.contains(":") ? h.substring(0, h.length() - 1) : h;
    }

    /**
     * @param host normalized
     * @return the address when {@code host} is an IP literal (in any form the JDK connects to, such
     *     as {@code ::ffff:127.0.0.1} or {@code 2130706433}); never a DNS lookup
     */
    static Optional<InetAddress> literal(String host) {
        if (!host.contains(":") && !DIGITS_AND_DOTS.matcher(host).matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(InetAddress.ofLiteral(host));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** @return whether {@code host} (normalized) is a DNS name: dot-separated labels of letters, digits, '-', '_' */
    static boolean isName(String host) {
        if (host.isEmpty() || host.length() > 253 || DIGITS_AND_DOTS.matcher(host).matches()) {
            return false;
        }
        for (String label : host.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                return false;
            }
        }
        return true;
    }

    /** @return {@code host:port}, with an IPv6 literal in brackets */
    static String target(String host, int port) {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    /**
     * @return what kind of address that no wildcard may reach {@code a} is ("a loopback address"),
     *     or empty when it is an ordinary one
     */
    static Optional<String> refusedKind(InetAddress a, EgressPolicy.Network network) {
        Optional<String> kind = a instanceof Inet4Address v4 ? kind(v4) : kind((Inet6Address) a);
        if (kind.isPresent()) {
            return kind;
        }
        return network.isOwnAddress(a) ? Optional.of("an address of this host") : Optional.empty();
    }

    /**
     * @return whether {@code a} is a private address (10/8, 172.16/12, 192.168/16, 100.64/10 shared
     *     address space, fc00::/7 unique local, fec0::/10 site-local): what a host wildcard does not reach
     */
    static boolean isPrivate(InetAddress a) {
        byte[] b = a.getAddress();
        int first = b[0] & 0xff;
        int second = b[1] & 0xff;
        if (a instanceof Inet4Address) {
            return first == 10 || first == 172 && (second & 0xf0) == 16 || first == 192 && second == 168
                    || first == 100 && (second & 0xc0) == 64;
        }
        return (first & 0xfe) == 0xfc || a.isSiteLocalAddress();
    }

    private static Optional<String> kind(Inet4Address a) {
        byte[] b = a.getAddress();
        int first = b[0] & 0xff;
        int second = b[1] & 0xff;
        if (first == 0) {
            return Optional.of("an any-local address");
        } else if (first == 127) {
            return Optional.of("a loopback address");
        } else if (a.equals(METADATA_V4)) {
            return Optional.of("the cloud metadata address");
        } else if (first == 169 && second == 254) {
            return Optional.of("a link-local address");
        } else if (first >= 224) {
            return Optional.of("a multicast, broadcast or reserved address");
        }
        return Optional.empty();
    }

    private static Optional<String> kind(Inet6Address a) {
        if (a.isAnyLocalAddress()) {
            return Optional.of("an any-local address");
        } else if (a.isLoopbackAddress()) {
            return Optional.of("a loopback address");
        } else if (a.equals(METADATA_V6)) {
            return Optional.of("the cloud metadata address");
        } else if (a.isLinkLocalAddress()) {
            return Optional.of("a link-local address");
        } else if (a.isMulticastAddress()) {
            return Optional.of("a multicast address");
        } else if (a.isIPv4CompatibleAddress()) {
            return Optional.of("an IPv4-compatible IPv6 address");
        }
        byte[] b = a.getAddress();
        if ((b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b) {
            // NAT64 (64:ff9b::/96): the IPv4 address it embeds is what is reached
            byte[] v4 = {b[12], b[13], b[14], b[15]};
            try {
                return kind((Inet4Address) InetAddress.getByAddress(v4));
            } catch (java.net.UnknownHostException e) {
                throw new IllegalStateException("four bytes are an IPv4 address", e);
            }
        }
        return Optional.empty();
    }
}
