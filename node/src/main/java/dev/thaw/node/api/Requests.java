package dev.thaw.node.api;

import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionManifest;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.IOException;
import java.io.InputStream;

/** Request reading and answer writing every route shares. */
final class Requests {
    /** Largest invocation payload, as Lambda's synchronous invocations. */
    static final int MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
    /** Largest deployment (code archive plus manifest). */
    static final long MAX_DEPLOY_BYTES = 256L * 1024 * 1024;

    private Requests() {
    }

    /** @return the {@code name} path parameter, checked */
    static String name(ServerRequest req) {
        return checkedName(req.path().pathParameters().get("name"));
    }

    /** @return the request's target as it came: its raw path and, when it had one, its raw query */
    static String target(ServerRequest req) {
        String query = req.query().rawValue();
        return req.path().rawPath() + (query == null || query.isEmpty() ? "" : "?" + query);
    }

    static String checkedName(String name) {
        if (!FunctionManifest.isValidName(name)) {
            throw ThawException.invalidRequest("'%s' is not a valid function name", name);
        }
        return name;
    }

    /** Reads a body of at most {@code limit} bytes, refusing a larger one with a message naming both. */
    static byte[] readBounded(ServerRequest req, long limit, String what) {
        var declared = req.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > limit) {
            throw tooLarge(what, declared.getAsLong(), limit);
        }
        try (InputStream in = req.content().inputStream()) {
            if (declared.isPresent()) {
                return readDeclared(in, (int) declared.getAsLong(), what);
            }
            byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limit + 1));
            if (body.length > limit) {
                throw tooLarge(what, -1, limit);
            }
            return body;
        } catch (IOException e) {
            throw ThawException.invalidRequest("cannot read the %s: %s", what, e.getMessage());
        }
    }

    /**
     * Reads into an array of the declared length: reading up to the limit instead took buffers of
     * 16 KiB and a copy for every invocation, most of what a busy node allocated per call.
     */
    private static byte[] readDeclared(InputStream in, int length, String what) throws IOException {
        byte[] body = new byte[length];
        int read = in.readNBytes(body, 0, length);
        if (read < length) {
            throw ThawException.invalidRequest("the %s ended after %d of the %d bytes its Content-Length declared",
                    what, read, length);
        }
        return body;
    }

    private static ThawException tooLarge(String what, long size, long limit) {
        String sizeText = size >= 0 ? size + " bytes" : "more than " + limit + " bytes";
        String readable = limit >= 1024 * 1024 ? limit / (1024 * 1024) + " MB" : limit / 1024 + " KB";
        return new ThawException(ErrorType.PayloadTooLarge, String.format(
                "the %s is %s; the limit is %d bytes (%s)", what, sizeText, limit, readable));
    }

    static void json(ServerResponse res, int status, Object body) {
        res.status(status).header("Content-Type", "application/json").send(Json.write(body));
    }
}
