package dev.thaw.node.api;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.ServerRequest;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/*
 * AWS Signature Version 4, as the AWS CLI and SDKs sign Lambda requests: the node rebuilds the
 * canonical request from what it received (method, path URI-encoded once more as AWS does for every
 * service but S3, sorted query, the signed headers, the SHA-256 of the body), derives the signing key
 * from the access key's secret, the date, region and service named in the credential scope, and
 * compares signatures in constant time. A request dated more than 15 minutes from the node's clock
 * is refused (replays), as AWS does. Access keys come from a file in AWS's shared-credentials format,
 * so a user can point the AWS CLI at it (AWS_SHARED_CREDENTIALS_FILE); it is read again when it
 * changes, so an operator adds or revokes a key without restarting the node.
 */
/** Verifies AWS Signature Version 4 on the Lambda path (see the comment above). */
final class AwsSignature {
    private static final String ALGORITHM = "AWS4-HMAC-SHA256";
    private static final Duration MAX_SKEW = Duration.ofMinutes(15);
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    private AwsSignature() {
    }

    /**
     * A signature that does not verify; the message says why without revealing any secret, and the
     * code is the one AWS answers for the same fault, which AWS clients print.
     */
    static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;
        final String awsCode;

        Invalid(String message) {
            this("InvalidSignatureException", message);
        }

        Invalid(String awsCode, String message) {
            super(message);
            this.awsCode = awsCode;
        }
    }

    /** The access keys the node accepts: an AWS shared-credentials file, re-read when it changes. */
    static final class Keys {
        private final Path file;
        private volatile long loadedModified = -1;
        private volatile Map<String, String> secrets = Map.of();

        Keys(Path file) {
            this.file = file;
        }

        /** @return the secret of an access key id, if the file has it */
        Optional<String> secret(String accessKeyId) {
            reloadIfChanged();
            return Optional.ofNullable(secrets.get(accessKeyId));
        }

        private synchronized void reloadIfChanged() {
            try {
                long modified = Files.exists(file) ? Files.getLastModifiedTime(file).toMillis() : 0;
                if (modified == loadedModified) {
                    return;
                }
                secrets = modified == 0 ? Map.of() : parse(Files.readAllLines(file, StandardCharsets.UTF_8));
                loadedModified = modified;
            } catch (IOException e) {
                secrets = Map.of();
            }
        }

        /** Reads {@code aws_access_key_id} / {@code aws_secret_access_key} pairs of every profile. */
        static Map<String, String> parse(List<String> lines) {
            Map<String, String> keys = new LinkedHashMap<>();
            String id = null;
            String secret = null;
            for (String raw : lines) {
                String line = raw.strip();
                if (line.startsWith("[")) {
                    if (id != null && secret != null) {
                        keys.put(id, secret);
                    }
                    id = null;
                    secret = null;
                } else if (line.contains("=") && !line.startsWith("#")) {
                    String k = line.substring(0, line.indexOf('=')).strip();
                    String v = line.substring(line.indexOf('=') + 1).strip();
                    if (k.equals("aws_access_key_id")) {
                        id = v;
                    } else if (k.equals("aws_secret_access_key")) {
                        secret = v;
                    }
                }
            }
            if (id != null && secret != null) {
                keys.put(id, secret);
            }
            return Map.copyOf(keys);
        }
    }

    /** The parsed {@code Authorization} header. */
    record Authorization(String accessKeyId, String date, String region, String service, List<String> signedHeaders,
                         String signature) {
        static Authorization parse(String header) throws Invalid {
            if (!header.startsWith(ALGORITHM + " ")) {
                throw new Invalid("IncompleteSignatureException", "the Authorization header is not an AWS4-HMAC-SHA256 signature");
            }
            Map<String, String> parts = new TreeMap<>();
            for (String part : header.substring(ALGORITHM.length() + 1).split(",")) {
                int eq = part.indexOf('=');
                if (eq > 0) {
                    parts.put(part.substring(0, eq).strip(), part.substring(eq + 1).strip());
                }
            }
            String credential = parts.get("Credential");
            String signed = parts.get("SignedHeaders");
            String signature = parts.get("Signature");
            if (credential == null || signed == null || signature == null) {
                throw new Invalid("IncompleteSignatureException", "the AWS signature lacks Credential, SignedHeaders or Signature");
            }
            String[] scope = credential.split("/");
            if (scope.length != 5 || !scope[4].equals("aws4_request")) {
                throw new Invalid("IncompleteSignatureException", "the AWS signature's credential scope is malformed: expected KEY/DATE/REGION/SERVICE/aws4_request");
            }
            return new Authorization(scope[0], scope[1], scope[2], scope[3], List.of(signed.split(";")), signature);
        }

        String scope() {
            return date + "/" + region + "/" + service + "/aws4_request";
        }
    }

    /**
     * Verifies a request's signature.
     *
     * @param body the request's body as received
     * @throws Invalid naming what is wrong: unknown key, stale date, missing signed header, mismatch
     */
    static void verify(ServerRequest req, byte[] body, Keys keys) throws Invalid {
        Authorization auth = Authorization.parse(req.headers().first(HeaderNames.AUTHORIZATION).orElse(""));
        String secret = keys.secret(auth.accessKeyId()).orElseThrow(() -> new Invalid("UnrecognizedClientException",
                "the access key '" + auth.accessKeyId() + "' is not one of this node's (DATA_DIR/aws-credentials)"));
        String amzDate = req.headers().first(HeaderNames.create("X-Amz-Date"))
                .orElseThrow(() -> new Invalid("the signed request has no X-Amz-Date header"));
        checkDate(amzDate, auth);
        Map<String, String> headers = new TreeMap<>();
        for (String name : auth.signedHeaders()) {
            String value = req.headers().first(HeaderNames.create(name))
                    .orElseThrow(() -> new Invalid("the signed header '" + name + "' is missing from the request"));
            headers.put(name.toLowerCase(Locale.ROOT), value);
        }
        String payloadHash = req.headers().first(HeaderNames.create("X-Amz-Content-Sha256")).orElse(hex(sha256(body)));
        String canonical = canonicalRequest(req.prologue().method().text(), req.path().rawPath(),
                req.query().rawValue(), headers, payloadHash);
        String expected = signature(secret, auth, amzDate, canonical);
        if (!MessageDigest.isEqual(expected.getBytes(StandardCharsets.US_ASCII),
                auth.signature().getBytes(StandardCharsets.US_ASCII))) {
            throw new Invalid("the request signature does not match: check the access key's secret and that the"
                    + " request was not changed after signing");
        }
    }

    private static void checkDate(String amzDate, Authorization auth) throws Invalid {
        Instant signedAt;
        try {
            signedAt = Instant.from(AMZ_DATE.parse(amzDate));
        } catch (DateTimeParseException e) {
            throw new Invalid("X-Amz-Date '" + amzDate + "' is not yyyyMMdd'T'HHmmss'Z'");
        }
        if (!amzDate.startsWith(auth.date())) {
            throw new Invalid("the credential scope's date does not match X-Amz-Date");
        }
        Duration skew = Duration.between(signedAt, Instant.now()).abs();
        if (skew.compareTo(MAX_SKEW) > 0) {
            throw new Invalid("the request was signed at " + signedAt + ", more than 15 minutes from the node's clock");
        }
    }

    static String canonicalRequest(String method, String rawPath, String rawQuery, Map<String, String> signedHeaders,
                                   String payloadHash) {
        StringBuilder headers = new StringBuilder();
        signedHeaders.forEach((name, value) -> headers.append(name).append(':')
                .append(value.strip().replaceAll("\\s+", " ")).append('\n'));
        return method + '\n' + encode(rawPath.isEmpty() ? "/" : rawPath, false) + '\n' + canonicalQuery(rawQuery) + '\n'
                + headers + '\n' + String.join(";", signedHeaders.keySet()) + '\n' + payloadHash;
    }

    private static String canonicalQuery(String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        List<String[]> pairs = new ArrayList<>();
        for (String p : rawQuery.split("&")) {
            if (p.isEmpty()) {
                continue;
            }
            int eq = p.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? p : p.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8);
            pairs.add(new String[] {encode(k, true), encode(v, true)});
        }
        pairs.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
        return String.join("&", pairs.stream().map(p -> p[0] + "=" + p[1]).toList());
    }

    /** AWS's URI encoding: every byte but A-Z a-z 0-9 - _ . ~ (and / in a path) as %XX. */
    static String encode(String s, boolean slashToo) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
                    || c == '.' || c == '~' || (c == '/' && !slashToo)) {
                out.append(c);
            } else {
                out.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return out.toString();
    }

    static String signature(String secret, Authorization auth, String amzDate, String canonicalRequest) {
        String toSign = ALGORITHM + '\n' + amzDate + '\n' + auth.scope() + '\n'
                + hex(sha256(canonicalRequest.getBytes(StandardCharsets.UTF_8)));
        byte[] key = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), auth.date());
        key = hmac(key, auth.region());
        key = hmac(key, auth.service());
        key = hmac(key, "aws4_request");
        return hex(hmac(key, toSign));
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no HmacSHA256", e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
