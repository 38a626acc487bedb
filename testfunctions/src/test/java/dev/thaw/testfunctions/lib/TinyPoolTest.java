package dev.thaw.testfunctions.lib;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TinyPoolTest {

    @Test
    void closesBeforeCheckpointAndReopensAfterRestore() {
        TinyPool pool = new TinyPool();
        assertThat(pool.isOpen()).isTrue();

        pool.beforeCheckpoint(null);
        assertThat(pool.isOpen()).isFalse();
        assertThat(pool.closes()).isEqualTo(1);
        assertThat(pool.reopens()).isZero();

        pool.afterRestore(null);
        pool.beforeCheckpoint(null);
        pool.afterRestore(null);
        assertThat(pool.isOpen()).isTrue();
        assertThat(pool.closes()).isEqualTo(2);
        assertThat(pool.reopens()).isEqualTo(2);
    }
}
