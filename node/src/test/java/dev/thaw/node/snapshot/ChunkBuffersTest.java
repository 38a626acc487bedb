package dev.thaw.node.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The page sources' pool of plaintext buffers: reuse by size, and the bound on what it keeps. */
class ChunkBuffersTest {

    @Test
    void handsBackABufferOfTheSizeAskedForAndAllocatesOnlyWhenNoneIsFree() {
        ChunkBuffers buffers = new ChunkBuffers(1 << 20);
        byte[] small = buffers.take(4096);
        byte[] large = buffers.take(65536);
        assertThat(buffers.allocated()).isEqualTo(2);

        buffers.give(small);
        buffers.give(large);
        assertThat(buffers.pooledBytes()).isEqualTo(4096 + 65536);
        assertThat(buffers.take(65536)).isSameAs(large);
        assertThat(buffers.take(4096)).isSameAs(small);
        assertThat(buffers.take(4096)).isNotSameAs(small).hasSize(4096);
        assertThat(buffers.allocated()).isEqualTo(3);
        assertThat(buffers.pooledBytes()).isZero();
    }

    @Test
    void dropsWhatIsGivenBackPastItsBound() {
        ChunkBuffers buffers = new ChunkBuffers(2 * 4096);
        for (int i = 0; i < 3; i++) {
            buffers.give(new byte[4096]);
        }
        assertThat(buffers.pooledBytes()).isEqualTo(2 * 4096);
        buffers.take(4096);
        buffers.take(4096);
        buffers.take(4096);
        assertThat(buffers.allocated()).as("only two were kept").isEqualTo(1);
    }
}
