package dev.thaw.egress;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** A resolver of fixed names and a fixed set of this host's own addresses; it records every lookup. */
final class FakeNetwork implements EgressPolicy.Network {
    private final Map<String, List<InetAddress>> names = new HashMap<>();
    private final Set<InetAddress> own = new HashSet<>();
    final List<String> lookups = new ArrayList<>();

    FakeNetwork name(String host, String... addresses) {
        names.put(host, java.util.Arrays.stream(addresses).map(InetAddress::ofLiteral).toList());
        return this;
    }

    FakeNetwork own(String address) {
        own.add(InetAddress.ofLiteral(address));
        return this;
    }

    @Override
    public List<InetAddress> resolve(String host) throws UnknownHostException {
        lookups.add(host);
        List<InetAddress> a = names.get(host);
        if (a == null) {
            throw new UnknownHostException(host);
        }
        return a;
    }

    @Override
    public boolean isOwnAddress(InetAddress address) {
        return own.contains(address);
    }
}
