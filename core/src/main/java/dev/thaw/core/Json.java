package dev.thaw.core;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;

/** The one Jackson configuration of the node, its clients and the CLI. */
public final class Json {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private Json() {
    }

    /** @return the shared, thread-safe mapper */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** Serializes {@code value}; failures are bugs and surface as {@link ErrorType#InternalError}. */
    public static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new ThawException(ErrorType.InternalError, "cannot serialize " + value.getClass().getSimpleName(), e);
        }
    }

    /**
     * Parses a request body.
     *
     * @param what what the body should be, for the error message
     * @throws ThawException {@link ErrorType#InvalidRequest} naming what was malformed
     */
    public static <T> T read(byte[] body, Class<T> type, String what) {
        try {
            T value = MAPPER.readValue(body, type);
            if (value == null) {
                throw ThawException.invalidRequest("%s is empty", what);
            }
            return value;
        } catch (IOException e) {
            throw ThawException.invalidRequest("%s is not valid JSON: %s", what, firstLine(e.getMessage()));
        }
    }

    /** @return true when {@code body} is one syntactically valid JSON value */
    public static boolean isValid(byte[] body) {
        try (var parser = MAPPER.createParser(body)) {
            if (parser.nextToken() == null) {
                return false;
            }
            parser.skipChildren();
            return parser.nextToken() == null;
        } catch (IOException e) {
            return false;
        }
    }

    /** @return the first line of a parser message, which is the readable part */
    public static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
