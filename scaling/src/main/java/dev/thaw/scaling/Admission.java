package dev.thaw.scaling;

import java.util.Objects;

/** The answer of {@link RequestBuffer#offer(Object)}: the request waits, or it is refused and why. */
public sealed interface Admission {

    /** @return whether the request was buffered */
    boolean admitted();

    /**
     * The request is buffered.
     *
     * @param ahead requests that will leave the buffer before it
     */
    record Admitted(int ahead) implements Admission {
        @Override
        public boolean admitted() {
            return true;
        }
    }

    /**
     * The buffer is full; nothing was buffered.
     *
     * @param reason a sentence for the caller that names the function and the bound, and what to do
     */
    record Refused(String reason) implements Admission {
        /** Checks that the reason is not null. */
        public Refused {
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public boolean admitted() {
            return false;
        }
    }
}
