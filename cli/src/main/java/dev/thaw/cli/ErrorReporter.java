package dev.thaw.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.thaw.core.ErrorBody;
import dev.thaw.core.ErrorType;
import dev.thaw.core.FunctionErrorException;
import dev.thaw.core.Json;
import dev.thaw.core.ThawException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Prints failures as {@code error: <errorType>: <message>} and exits with 1. Function errors add the
 * node's whole {@link ErrorBody} (the function's exception type and stack trace) as JSON.
 */
final class ErrorReporter implements IExecutionExceptionHandler {
    static final int FAILED = 1;

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parseResult) {
        PrintWriter err = cmd.getErr();
        ThawException thaw = asThawException(e);
        err.println("error: " + thaw.type() + ": " + thaw.getMessage());
        if (thaw instanceof FunctionErrorException) {
            err.println(prettyJson(ErrorBody.of(thaw)));
        }
        err.flush();
        return FAILED;
    }

    static ThawException asThawException(Exception e) {
        if (e instanceof ThawException thaw) {
            return thaw;
        }
        if (e instanceof UncheckedIOException io) {
            return new ThawException(ErrorType.InternalError, io.getMessage(), io);
        }
        // Anything else is a bug in the CLI: name the exception so it can be reported.
        return new ThawException(ErrorType.InternalError, e.toString(), e);
    }

    static String prettyJson(Object value) {
        try {
            return Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
