package dev.thaw.criu;

import java.util.Optional;

/**
 * Whether snapshots can be taken on this machine, and why (not).
 *
 * @param available true when CRIU was found, runs, and {@code criu check} passed as root
 * @param version CRIU's version when it runs
 * @param reason one sentence a user can act on
 */
public record CriuStatus(boolean available, Optional<String> version, String reason) {

    static CriuStatus unavailable(String reason) {
        return new CriuStatus(false, Optional.empty(), reason);
    }
}
