package dev.thaw.store;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Collects what the store logs (its {@code System.Logger}s are {@code java.util.logging} loggers
 * here) under a logger name, for the duration of a test.
 */
final class LogCapture extends Handler implements AutoCloseable {
    private final Logger logger;
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final SimpleFormatter formatter = new SimpleFormatter();

    private LogCapture(String name) {
        this.logger = Logger.getLogger(name); // held: a logger nobody references may be collected with its handler
        setLevel(Level.ALL);
        logger.addHandler(this);
    }

    /** @return a capture of the records logged under {@code name} and below */
    static LogCapture of(String name) {
        return new LogCapture(name);
    }

    /** @return records at {@code level} or above */
    List<LogRecord> atLeast(Level level) {
        return records.stream().filter(r -> r.getLevel().intValue() >= level.intValue()).toList();
    }

    /** @return the message of a record with its parameters filled in */
    String message(LogRecord r) {
        return formatter.formatMessage(r);
    }

    @Override
    public void publish(LogRecord record) {
        records.add(record);
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
