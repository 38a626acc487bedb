package dev.thaw.egress;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Which targets a function may reach: the operator's allow list ({@code thaw up --egress-allow}).
 *
 * <p>A pattern is one of {@code host:port}, {@code *.suffix:port}, {@code host:*}, {@code *:port}
 * or {@code *} (anything), where a host is a DNS name or an IP literal ({@code [v6]} in brackets).
 * A name is resolved only once a pattern allowed it, and the decision names the one address to
 * connect to: a name is never resolved twice, so what was checked is what is reached. Whatever the
 * patterns say, an address that is loopback, any-local, link-local (the cloud metadata address
 * among them), multicast, or one of this host's own is refused unless the list holds that exact
 * {@code ip:port} (so a test, or an operator, can allow one host-local service on purpose). A private
 * address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) is reached only through a pattern that
 * names the host or the address: a host wildcard ({@code *}, {@code *:port}) reaches public ones.
 *
 * <pre>{@code
 * EgressPolicy policy = EgressPolicy.allow(List.of("*.example.com:443", "127.0.0.1:5432"));
 * EgressDecision d = policy.decide("api.example.com", 443);
 * if (d.allowed()) socket.connect(d.address().orElseThrow());
 * }</pre>
 */
public interface EgressPolicy {

    /**
     * @param patterns the allow list; empty allows nothing
     * @return a policy that resolves names with the system's resolver
     * @throws IllegalArgumentException naming the first pattern that is not one of the forms above
     */
    static EgressPolicy allow(List<String> patterns) {
        return allow(patterns, Network.system());
    }

    /**
     * @param network how names are resolved and which addresses are this host's own
     * @throws IllegalArgumentException naming the first pattern that is not one of the forms above
     */
    static EgressPolicy allow(List<String> patterns, Network network) {
        return AllowList.parse(patterns, network);
    }

    /** @return a policy that allows nothing */
    static EgressPolicy none() {
        return allow(List.of());
    }

    /** @return whether any pattern is listed (without one, no proxy needs to listen at all) */
    boolean allowsAny();

    /** @return the patterns, as given */
    List<String> patterns();

    /**
     * Decides on one target: matches the patterns, resolves an allowed name (once), and checks the
     * address it would connect to.
     *
     * @param host a DNS name or an IP literal (IPv6 with or without brackets), as a client named it
     * @param port 1-65535
     * @return allowed with the address to connect to, denied with the reason, or unresolved
     */
    EgressDecision decide(String host, int port);

    /** What a policy asks of the network: name resolution, and which addresses are this host's own. */
    interface Network {

        /** @return every address of {@code host} (a DNS name, never a literal) */
        List<InetAddress> resolve(String host) throws UnknownHostException;

        /** @return whether {@code address} is assigned to one of this host's interfaces */
        boolean isOwnAddress(InetAddress address);

        /** @return the system's resolver and interfaces */
        static Network system() {
            return new Network() {
                @Override
                public List<InetAddress> resolve(String host) throws UnknownHostException {
                    return List.of(InetAddress.getAllByName(host));
                }

                @Override
                public boolean isOwnAddress(InetAddress address) {
                    try {
                        return NetworkInterface.getByInetAddress(address) != null;
                    } catch (SocketException e) {
                        return true; // cannot tell: treat it as the host's own, which is refused
                    }
                }
            };
        }
    }
}
