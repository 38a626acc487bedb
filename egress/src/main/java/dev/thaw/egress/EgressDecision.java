package dev.thaw.egress;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * What a policy decided for one target.
 *
 * @param target {@code host:port} as the client named it ({@code [v6]:port} for an IPv6 literal)
 * @param verdict allowed, denied, or allowed by name but not resolvable
 * @param address the one address to connect to, when allowed
 * @param reason why it was denied or could not be resolved; empty when allowed
 */
public record EgressDecision(String target, Verdict verdict, Optional<InetSocketAddress> address, String reason) {

    /** The outcome. */
    public enum Verdict {
        /** connect to {@link #address()} */
        ALLOWED,
        /** the allow list does not allow it, or it resolved to an address that is refused */
        DENIED,
        /** a pattern allowed the name, which did not resolve */
        UNRESOLVED
    }

    public EgressDecision {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(reason, "reason");
        if (verdict == Verdict.ALLOWED != address.isPresent()) {
            throw new IllegalArgumentException("an allowed decision, and only one, has an address: " + verdict + " " + address);
        }
    }

    static EgressDecision allowed(String target, InetSocketAddress address) {
        return new EgressDecision(target, Verdict.ALLOWED, Optional.of(address), "");
    }

    static EgressDecision denied(String target, String reason) {
        return new EgressDecision(target, Verdict.DENIED, Optional.empty(), reason);
    }

    static EgressDecision unresolved(String target, String reason) {
        return new EgressDecision(target, Verdict.UNRESOLVED, Optional.empty(), reason);
    }

    /** @return whether the connection may be made (to {@link #address()}) */
    public boolean allowed() {
        return verdict == Verdict.ALLOWED;
    }
}
