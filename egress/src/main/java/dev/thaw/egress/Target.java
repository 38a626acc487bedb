package dev.thaw.egress;

import java.util.Locale;

/**
 * Where a proxy request goes: the host and port, and for an absolute-URI request the path to send
 * the server (origin form).
 *
 * @param host as written, without IPv6 brackets
 * @param path the origin-form path and query; empty for {@code CONNECT}
 */
record Target(String host, int port, String path) {

    /** @return the target of {@code CONNECT host:port} */
    static Target connect(String authority) throws ProxyError {
        return authority(authority, -1, "");
    }

    /** @return the target of an absolute {@code http://host[:port]/path} request target */
    static Target absolute(String uri) throws ProxyError {
        String lower = uri.toLowerCase(Locale.ROOT);
        if (lower.startsWith("https://")) {
            throw new ProxyError(400, "an https:// URL goes through the proxy as CONNECT host:443 (TLS end to end)");
        }
        if (!lower.startsWith("http://")) {
            throw new ProxyError(400, "this is an egress proxy: it takes CONNECT host:port or an absolute http:// URL, got '"
                    + shorten(uri) + "'");
        }
        String rest = uri.substring("http://".length());
        int end = rest.length();
        for (char c : new char[] {'/', '?', '#'}) {
            int at = rest.indexOf(c);
            if (at >= 0 && at < end) {
                end = at;
            }
        }
        String path = rest.substring(end);
        int fragment = path.indexOf('#');
        if (fragment >= 0) {
            path = path.substring(0, fragment);
        }
        if (!path.startsWith("/")) {
            path = "/" + path;
        }
        return authority(rest.substring(0, end), 80, path);
    }

    private static Target authority(String authority, int defaultPort, String path) throws ProxyError {
        if (authority.contains("@")) {
            throw new ProxyError(400, "user information in a proxy request's target is not accepted");
        }
        String host;
        String port;
        if (authority.startsWith("[")) {
            int close = authority.indexOf(']');
            if (close < 0) {
                throw new ProxyError(400, "an IPv6 address without its closing ']' in '" + shorten(authority) + "'");
            }
            host = authority.substring(1, close);
            String rest = authority.substring(close + 1);
            if (!rest.isEmpty() && !rest.startsWith(":")) {
                throw new ProxyError(400, "a malformed target '" + shorten(authority) + "'");
            }
            port = rest.isEmpty() ? null : rest.substring(1);
        } else {
            int colon = authority.indexOf(':');
            host = colon < 0 ? authority : authority.substring(0, colon);
            port = colon < 0 ? null : authority.substring(colon + 1);
        }
        if (host.isEmpty()) {
            throw new ProxyError(400, "no host in the target '" + shorten(authority) + "'");
        }
        return new Target(host, port(authority, port, defaultPort), path);
    }

    private static int port(String authority, String port, int defaultPort) throws ProxyError {
        if (port == null || port.isEmpty()) {
            if (defaultPort < 0) {
                throw new ProxyError(400, "CONNECT needs host:port, got '" + shorten(authority) + "'");
            }
            return defaultPort;
        }
        try {
            int p = Integer.parseInt(port);
            if (p >= 1 && p <= 65_535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new ProxyError(400, "the port '" + shorten(port) + "' is not 1-65535");
    }

    /** @return the {@code host:port} as the Host field names it */
    String authority() {
        return Hosts.target(host, port);
    }

    /** @return at most 100 characters of what a client sent, for a message */
    static String shorten(String s) {
        return s.length() <= 100 ? s : s.substring(0, 100) + "...";
    }
}
