package dev.thaw.egress;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/*
 * The allow list. A decision on a DNS name runs in this order: the name against the patterns (a name
 * no pattern allows is refused without a lookup, so a denied function cannot use the resolver as a
 * channel out), then one resolution, then each resolved address against the refused kinds (loopback,
 * any-local, link-local and metadata, multicast, the host's own), in the resolver's order; the first
 * address that passes is the one the caller connects to. Resolving once and handing that address
 * over leaves no second lookup an attacker's DNS could answer differently (rebinding). An IP literal
 * skips the lookup and is matched by wildcards and equal literals. A refused kind of address passes
 * only when a pattern names exactly that ip:port. A private address (10/8 and the like: where an
 * operator's own services live) passes when a pattern names the host or the address; a host
 * wildcard (* or *:port) alone reaches public addresses only.
 */
/** The allow list (see the comment above). */
final class AllowList implements EgressPolicy {
    private final List<String> texts;
    private final List<AllowPattern> patterns;
    private final Network network;

    private AllowList(List<String> texts, List<AllowPattern> patterns, Network network) {
        this.texts = texts;
        this.patterns = patterns;
        this.network = network;
    }

    static AllowList parse(List<String> patterns, Network network) {
        java.util.Objects.requireNonNull(network, "network");
        List<AllowPattern> parsed = new ArrayList<>();
        for (String p : patterns) {
            parsed.add(AllowPattern.parse(p));
        }
        return new AllowList(List.copyOf(patterns), List.copyOf(parsed), network);
    }

    @Override
    public boolean allowsAny() {
        return !patterns.isEmpty();
    }

    @Override
    public List<String> patterns() {
        return texts;
    }

    @Override
    public EgressDecision decide(String rawHost, int port) {
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is not 1-65535");
        }
        String host = Hosts.normalize(rawHost);
        Optional<InetAddress> literal = Hosts.literal(host);
        String target = Hosts.target(host, port);
        if (literal.isPresent()) {
            InetAddress a = literal.get();
            List<AllowPattern> matching = patterns.stream().filter(p -> p.matchesLiteral(a, port)).toList();
            if (matching.isEmpty()) {
                return EgressDecision.denied(target, "it matches no pattern of the allow list");
            }
            Optional<String> refused = refusal(a, port, wildcardOnly(matching));
            return refused.isEmpty() ? EgressDecision.allowed(target, new InetSocketAddress(a, port))
                    : EgressDecision.denied(target, a.getHostAddress() + " is " + refused.get());
        }
        if (!Hosts.isName(host)) {
            throw new IllegalArgumentException("'" + rawHost + "' is neither a host name nor an IP address");
        }
        List<AllowPattern> matching = patterns.stream().filter(p -> p.matchesName(host, port)).toList();
        if (matching.isEmpty()) {
            return EgressDecision.denied(target, "it matches no pattern of the allow list");
        }
        return resolved(host, port, target, wildcardOnly(matching));
    }

    /** @return whether only host wildcards ({@code *}, {@code *:port}) allowed the target */
    private static boolean wildcardOnly(List<AllowPattern> matching) {
        return matching.stream().allMatch(p -> p.kind() == AllowPattern.Kind.ANY_HOST);
    }

    private EgressDecision resolved(String host, int port, String target, boolean wildcardOnly) {
        List<InetAddress> addresses;
        try {
            addresses = network.resolve(host);
        } catch (UnknownHostException e) {
            return EgressDecision.unresolved(target, "cannot resolve " + host);
        }
        if (addresses.isEmpty()) {
            return EgressDecision.unresolved(target, "cannot resolve " + host + ": no address");
        }
        String firstRefusal = null;
        for (InetAddress a : addresses) {
            Optional<String> refused = refusal(a, port, wildcardOnly);
            if (refused.isEmpty()) {
                return EgressDecision.allowed(target, new InetSocketAddress(a, port));
            }
            if (firstRefusal == null) {
                firstRefusal = host + " resolves to " + a.getHostAddress() + ", " + refused.get();
            }
        }
        return EgressDecision.denied(target, firstRefusal);
    }

    /**
     * @param wildcardOnly whether only host wildcards allowed the target
     * @return why {@code a} may not be reached on {@code port}, or empty
     */
    private Optional<String> refusal(InetAddress a, int port, boolean wildcardOnly) {
        String exactly = Hosts.target(a.getHostAddress(), port);
        Optional<String> kind = Hosts.refusedKind(a, network);
        if (kind.isPresent()) {
            return patterns.stream().anyMatch(p -> p.isExactly(a, port)) ? Optional.empty()
                    : Optional.of(kind.get() + " (reached only when the allow list names exactly " + exactly + ")");
        }
        if (wildcardOnly && Hosts.isPrivate(a)) {
            return Optional.of("a private address (a host wildcard reaches public addresses only: name the host in a"
                    + " pattern, or list " + exactly + ")");
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return patterns.isEmpty() ? "no egress" : "egress to " + String.join(", ", texts);
    }
}
