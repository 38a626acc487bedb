package dev.thaw.egress;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * An HTTP/1.x message head: the start line and the header fields, read up to the blank line (and
 * not a byte further, so what follows stays in the stream for the relay).
 */
record Head(String startLine, List<Head.Field> fields) {

    /** One header field. */
    record Field(String name, String value) {
        boolean is(String other) {
            return name.equalsIgnoreCase(other);
        }
    }

    /** Request and response fields that concern one connection only (RFC 9110, 7.6.1), never forwarded. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "proxy-connection", "keep-alive", "te", "trailer",
            "upgrade", "proxy-authorization", "proxy-authenticate");

    /**
     * @param max the most bytes the head may have
     * @param status the status to answer when it is malformed or too large (400 for a client's
     *     request, 502 for a server's answer)
     * @return the head, or null when the stream ended before its first byte
     */
    static Head read(InputStream in, int max, int status) throws IOException, ProxyError {
        List<String> lines = new ArrayList<>();
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int total = 0;
        while (true) {
            int b = in.read();
            if (b < 0) {
                if (total == 0) {
                    return null;
                }
                throw new ProxyError(status, "the message head ended early");
            }
            if (++total > max) {
                throw new ProxyError(status == 400 ? 431 : status, "the message head is over " + max / 1024 + " KiB");
            }
            if (b != '\n') {
                line.write(b);
                continue;
            }
            String l = line.toString(StandardCharsets.ISO_8859_1);
            line.reset();
            if (l.endsWith("\r")) {
                l = l.substring(0, l.length() - 1);
            }
            if (l.isEmpty()) {
                if (lines.isEmpty()) {
                    continue; // a stray CRLF before a request is ignored (RFC 9112, 2.2)
                }
                return parse(lines, status);
            }
            lines.add(l);
        }
    }

    private static Head parse(List<String> lines, int status) throws ProxyError {
        List<Field> fields = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) {
            int colon = l.indexOf(':');
            if (colon <= 0 || Character.isWhitespace(l.charAt(0)) || Character.isWhitespace(l.charAt(colon - 1))) {
                throw new ProxyError(status, "a malformed header line");
            }
            fields.add(new Field(l.substring(0, colon), l.substring(colon + 1).strip()));
        }
        return new Head(lines.get(0), List.copyOf(fields));
    }

    /** @return the start line's space-separated parts (3 for a request line) */
    String[] parts() {
        return startLine.split(" ", 3);
    }

    /** @return the fields without hop-by-hop ones, nor those the Connection field names */
    List<Field> endToEnd() {
        Set<String> named = fields.stream().filter(f -> f.is("connection"))
                .flatMap(f -> java.util.Arrays.stream(f.value().split(",")))
                .map(t -> t.strip().toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
        return fields.stream().filter(f -> {
            String n = f.name().toLowerCase(Locale.ROOT);
            return !HOP_BY_HOP.contains(n) && !named.contains(n);
        }).toList();
    }

    /** @return the head, CRLF-terminated, with a blank line at its end */
    static byte[] encode(String startLine, List<Field> fields) {
        StringBuilder b = new StringBuilder(startLine).append("\r\n");
        for (Field f : fields) {
            b.append(f.name()).append(": ").append(f.value()).append("\r\n");
        }
        return b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }
}
