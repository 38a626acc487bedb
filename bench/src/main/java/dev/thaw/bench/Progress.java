package dev.thaw.bench;

import java.io.PrintWriter;

/** A one-line progress counter, redrawn in place with carriage returns. */
final class Progress {
    private final PrintWriter out;
    private int lastLength;

    Progress(PrintWriter out) {
        this.out = out;
    }

    /** Replaces the line with e.g. {@code [hello] restore 7/20}. */
    void show(String function, String phase, int done, int total) {
        String text = "[" + function + "] " + phase + (total > 0 ? " " + done + "/" + total : "");
        // Pad with blanks so a shorter line fully covers the previous one.
        out.print("\r" + text + " ".repeat(Math.max(0, lastLength - text.length())));
        out.flush();
        lastLength = text.length();
    }

    /** Clears the line so normal output starts on a clean one. */
    void clear() {
        if (lastLength > 0) {
            out.print("\r" + " ".repeat(lastLength) + "\r");
            out.flush();
            lastLength = 0;
        }
    }
}
