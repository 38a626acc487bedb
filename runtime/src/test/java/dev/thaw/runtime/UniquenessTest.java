package dev.thaw.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Reseeding works on this JDK: every generator it knows is found (nothing skipped). */
class UniquenessTest {

    @Test
    void findsAndReseedsEveryJdkGenerator() {
        Uniqueness u = new Uniqueness().prepare();
        assertThat(u.reseedAfterRestore()).as("generators that could not be reseeded").isEmpty();
    }

    @Test
    void reseedingChangesTheMathRandomSequence() {
        Uniqueness u = new Uniqueness().prepare();
        u.reseedAfterRestore();
        double a = Math.random();
        u.reseedAfterRestore();
        double b = Math.random();
        assertThat(a).isNotEqualTo(b);
    }
}
