package dev.thaw.runtime;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Control lines from the runtime to the node, sent on stdout (the pipe the node reads the
 * instance's logs from) and marked with a per-instance token the node chose. They carry what the
 * Runtime API cannot: the moment the instance has closed its sockets and may be checkpointed.
 * Each line is written with one {@code write(2)} of less than {@code PIPE_BUF} bytes, so it never
 * interleaves with other output.
 */
final class ControlChannel {
    private final String token;
    private final FileOutputStream out = new FileOutputStream(FileDescriptor.out);

    ControlChannel(String token) {
        this.token = token;
    }

    void send(String message) throws IOException {
        System.out.flush();
        System.err.flush();
        String oneLine = message.replace('\n', ' ');
        if (oneLine.length() > dev.thaw.protocol.RuntimeProtocol.Control.MAX_LENGTH) {
            oneLine = oneLine.substring(0, dev.thaw.protocol.RuntimeProtocol.Control.MAX_LENGTH);
        }
        out.write(("\n" + token + " " + oneLine + "\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
