package dev.thaw.criu;

import java.nio.file.Path;

/** Reads CRIU logs for error reports. */
public final class CriuLogs {
    private CriuLogs() {
    }

    /**
     * @param logFile a CRIU log
     * @return its error lines (or last lines), joined, to explain a failed operation
     */
    public static String errorSummary(Path logFile) {
        return CriuProcess.errorLines(logFile);
    }
}
