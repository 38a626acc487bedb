package dev.thaw.linux;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What thaw reads of a process's or thread's {@code /proc/PID/stat} (or {@code /proc/PID/task/TID/stat})
 * line. Its fields are read after the last ')': the second field, the command name in parentheses,
 * may itself hold spaces and parentheses.
 *
 * @param state  the state letter (R running or runnable, S sleeping, Z zombie, X dead, ...)
 * @param policy the scheduling policy (0 SCHED_OTHER, 5 SCHED_IDLE, ...)
 */
public record ProcStat(char state, int policy) {

    /** @return the line at {@code stat}, read; empty when its process or thread is gone (or the line is not one) */
    public static Optional<ProcStat> read(Path stat) {
        try {
            return Optional.of(parse(Files.readString(stat)));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** @throws IllegalArgumentException when {@code line} is not a stat line */
    static ProcStat parse(String line) {
        int end = line.lastIndexOf(')');
        String[] after = end < 0 ? new String[0] : line.substring(end + 2).split(" ");
        if (after.length < 39 || after[0].length() != 1) {
            throw new IllegalArgumentException("not a /proc stat line: " + line);
        }
        return new ProcStat(after[0].charAt(0), Integer.parseInt(after[38])); // fields 3 and 41 of proc(5)
    }
}
