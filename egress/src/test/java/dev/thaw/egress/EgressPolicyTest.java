package dev.thaw.egress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class EgressPolicyTest {
    private final FakeNetwork net = new FakeNetwork()
            .name("api.example.com", "93.184.216.34")
            .name("deep.api.example.com", "93.184.216.35")
            .name("example.com", "93.184.216.36")
            .name("evil-example.com", "203.0.113.9")
            .name("rebind.example.com", "127.0.0.1")
            .name("mixed.example.com", "127.0.0.1", "93.184.216.37")
            .name("metadata.example.com", "169.254.169.254")
            .name("self.example.com", "192.0.2.2")
            .name("db.internal.example", "10.1.2.3")
            .own("192.0.2.2");

    private EgressPolicy policy(String... patterns) {
        return EgressPolicy.allow(List.of(patterns), net);
    }

    private static void allowed(EgressDecision d, String address, int port) {
        assertThat(d.allowed()).as("%s: %s", d.target(), d.reason()).isTrue();
        assertThat(d.address()).contains(new InetSocketAddress(java.net.InetAddress.ofLiteral(address), port));
    }

    private static void denied(EgressDecision d, String reason) {
        assertThat(d.verdict()).as(d.target()).isEqualTo(EgressDecision.Verdict.DENIED);
        assertThat(d.address()).isEmpty();
        assertThat(d.reason()).contains(reason);
    }

    @Test
    void nothingIsAllowedWithoutPatterns() {
        EgressPolicy none = EgressPolicy.none();
        assertThat(none.allowsAny()).isFalse();
        denied(none.decide("93.184.216.34", 443), "matches no pattern");
        assertThat(policy("*").allowsAny()).isTrue();
    }

    @Test
    void anExactHostAndPortAllowThatPairOnly() {
        EgressPolicy p = policy("api.example.com:443");
        allowed(p.decide("api.example.com", 443), "93.184.216.34", 443);
        allowed(p.decide("API.Example.COM.", 443), "93.184.216.34", 443);
        denied(p.decide("api.example.com", 80), "matches no pattern");
        denied(p.decide("example.com", 443), "matches no pattern");
    }

    @Test
    void aSuffixWildcardAllowsSubdomainsOnly() {
        EgressPolicy p = policy("*.example.com:443");
        allowed(p.decide("api.example.com", 443), "93.184.216.34", 443);
        allowed(p.decide("deep.api.example.com", 443), "93.184.216.35", 443);
        denied(p.decide("example.com", 443), "matches no pattern");
        denied(p.decide("evil-example.com", 443), "matches no pattern");
        denied(p.decide("api.example.com", 8443), "matches no pattern");
    }

    @Test
    void portAndHostWildcards() {
        EgressPolicy anyPort = policy("api.example.com:*");
        allowed(anyPort.decide("api.example.com", 8443), "93.184.216.34", 8443);
        denied(anyPort.decide("example.com", 443), "matches no pattern");
        EgressPolicy anyHost = policy("*:443");
        allowed(anyHost.decide("example.com", 443), "93.184.216.36", 443);
        allowed(anyHost.decide("198.51.100.7", 443), "198.51.100.7", 443);
        denied(anyHost.decide("example.com", 80), "matches no pattern");
        EgressPolicy anything = policy("*");
        allowed(anything.decide("evil-example.com", 25), "203.0.113.9", 25);
        allowed(anything.decide("2001:db8::1", 22), "2001:db8::1", 22);
    }

    @Test
    void aNameNoPatternAllowsIsNeverLookedUp() {
        EgressPolicy p = policy("api.example.com:443", "127.0.0.1:5000");
        denied(p.decide("exfiltrated-secret.attacker.example", 443), "matches no pattern");
        assertThat(net.lookups).isEmpty();
        p.decide("api.example.com", 443);
        assertThat(net.lookups).containsExactly("api.example.com");
    }

    @ParameterizedTest
    @CsvSource({
        "127.0.0.1, a loopback address",
        "127.8.9.10, a loopback address",
        "::1, a loopback address",
        "[::1], a loopback address",
        "::ffff:127.0.0.1, a loopback address",
        "2130706433, a loopback address",
        "0.0.0.0, an any-local address",
        "::, an any-local address",
        "169.254.169.254, the cloud metadata address",
        "fd00:ec2::254, the cloud metadata address",
        "169.254.1.1, a link-local address",
        "fe80::1, a link-local address",
        "febf::1, a link-local address",
        "224.0.0.1, a multicast",
        "255.255.255.255, a multicast, broadcast or reserved address",
        "ff02::1, a multicast address",
        "64:ff9b::7f00:1, a loopback address",
        "192.0.2.2, an address of this host"
    })
    void wildcardsNeverReachLoopbackLinkLocalMetadataOrTheHostItself(String address, String kind) {
        for (String pattern : List.of("*", "*:8080")) {
            denied(policy(pattern).decide(address, 8080), kind);
        }
    }

    @Test
    void namesAreCheckedOnTheAddressTheyResolveTo() {
        EgressPolicy p = policy("*");
        denied(p.decide("rebind.example.com", 80), "rebind.example.com resolves to 127.0.0.1, a loopback address");
        denied(p.decide("metadata.example.com", 80), "the cloud metadata address");
        denied(p.decide("self.example.com", 80), "an address of this host");
        allowed(p.decide("mixed.example.com", 80), "93.184.216.37", 80);
        assertThat(net.lookups).containsExactly("rebind.example.com", "metadata.example.com", "self.example.com",
                "mixed.example.com");
    }

    @Test
    void anExactLiteralIpAndPortAllowsARefusedAddress() {
        EgressPolicy p = policy("*", "127.0.0.1:5000");
        allowed(p.decide("127.0.0.1", 5000), "127.0.0.1", 5000);
        allowed(p.decide("[::ffff:127.0.0.1]", 5000), "127.0.0.1", 5000);
        denied(p.decide("127.0.0.1", 5001), "a loopback address (reached only when the allow list names exactly 127.0.0.1:5001)");
        denied(policy("127.0.0.1:*").decide("127.0.0.1", 5000), "a loopback address");
        EgressPolicy byName = policy("rebind.example.com:80", "127.0.0.1:80");
        allowed(byName.decide("rebind.example.com", 80), "127.0.0.1", 80);
        allowed(policy("[::1]:9000").decide("::1", 9000), "::1", 9000);
        allowed(policy("169.254.169.254:80").decide("169.254.169.254", 80), "169.254.169.254", 80);
    }

    @Test
    void aHostWildcardReachesPublicAddressesOnlyWhileNamedHostsAndLiteralsReachPrivateOnes() {
        for (String address : List.of("10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1", "fd12::1",
                "fec0::1")) {
            denied(policy("*").decide(address, 5432), "a private address (a host wildcard reaches public addresses only");
            denied(policy("*:5432").decide(address, 5432), "a private address");
        }
        denied(policy("*").decide("db.internal.example", 5432), "db.internal.example resolves to 10.1.2.3, a private address");
        allowed(policy("*.internal.example:5432").decide("db.internal.example", 5432), "10.1.2.3", 5432);
        allowed(policy("*", "db.internal.example:*").decide("db.internal.example", 5432), "10.1.2.3", 5432);
        allowed(policy("10.1.2.3:*").decide("10.1.2.3", 5432), "10.1.2.3", 5432);
        for (String publicOne : List.of("172.32.0.1", "172.15.255.255", "100.128.0.1", "11.0.0.1", "192.169.0.1")) {
            allowed(policy("*").decide(publicOne, 443), publicOne, 443);
        }
    }

    @Test
    void aLiteralPatternMatchesThatLiteralOnlyNotNamesResolvingToIt() {
        EgressPolicy p = policy("93.184.216.34:443");
        allowed(p.decide("93.184.216.34", 443), "93.184.216.34", 443);
        denied(p.decide("api.example.com", 443), "matches no pattern");
        assertThat(net.lookups).isEmpty();
    }

    @Test
    void anUnresolvableAllowedNameIsUnresolvedNotDenied() {
        EgressDecision d = policy("*").decide("nowhere.example", 443);
        assertThat(d.verdict()).isEqualTo(EgressDecision.Verdict.UNRESOLVED);
        assertThat(d.reason()).isEqualTo("cannot resolve nowhere.example");
        assertThat(d.target()).isEqualTo("nowhere.example:443");
    }

    @Test
    void targetsAreNamedAsTheClientNamedThem() {
        assertThat(policy().decide("[::ffff:127.0.0.1]", 5000).target()).isEqualTo("[::ffff:127.0.0.1]:5000");
        assertThat(policy().decide("API.example.com", 443).target()).isEqualTo("api.example.com:443");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "example.com", "example.com:", "example.com:0", "example.com:65536", "example.com:https",
        "::1:443", "[::1]443", "[::1", "[example.com]:443", "*example.com:443", "api.*.com:443", "**:443",
        "*.:443", "exa mple.com:443", "-bad-.com:80", "*.-x.com:80"})
    void aBadPatternIsRefusedNamingIt(String pattern) {
        assertThatThrownBy(() -> EgressPolicy.allow(List.of("api.example.com:443", pattern), net))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bad egress pattern '" + pattern + "'")
                .hasMessageContaining("host:port, *.suffix:port, host:*, *:port or *");
    }

    @Test
    void badTargetsAreIllegalArguments() {
        assertThatThrownBy(() -> policy("*").decide("example.com", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("port 0");
        assertThatThrownBy(() -> policy("*").decide("exa mple.com", 80)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'exa mple.com' is neither a host name nor an IP address");
    }

    @Test
    void patternsAreKeptAsGiven() {
        assertThat(policy("*.example.com:443", "*").patterns()).containsExactly("*.example.com:443", "*");
        assertThat(policy("*").toString()).isEqualTo("egress to *");
    }
}
