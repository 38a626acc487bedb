package dev.thaw.testfunctions;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Touches memory the way lazy restores find hard: its init fills 48 MiB with a known pattern (in the
 * snapshot, served page by page to a lazy clone); an invocation reads the first {@code mb} MiB of it
 * (so the working set depends on the input), half of them on a thread it starts, grows the heap by
 * {@code growMb} MiB, and maps and unmaps {@code unmapMb} MiB of native memory. Answers the sum of
 * what it read, which only a byte-exact restore reproduces. Handler {@code MemoryToucher::handle}.
 */
public class MemoryToucher implements Handler<Map<String, Object>, Map<String, Object>> {
    private static final int MIB = 1 << 20;
    private static final int SIZE_MB = 48;
    private final byte[][] pattern = new byte[SIZE_MB][];

    /** Fills the pattern: each MiB holds a different byte sequence. */
    public MemoryToucher() {
        for (int m = 0; m < SIZE_MB; m++) {
            pattern[m] = new byte[MIB];
            for (int i = 0; i < MIB; i++) {
                pattern[m][i] = (byte) (i * 31 + m * 7);
            }
        }
    }

    @Override
    public Map<String, Object> handle(Map<String, Object> input, InvocationContext context) {
        int mb = Math.min(SIZE_MB, intOf(input, "mb", 1));
        int growMb = intOf(input, "growMb", 0);
        int unmapMb = intOf(input, "unmapMb", 0);
        AtomicLong sum = new AtomicLong();
        Thread helper = new Thread(() -> sum.addAndGet(sum(mb / 2, mb)));
        helper.start();
        sum.addAndGet(sum(0, mb / 2));
        byte[][] grown = new byte[growMb][];
        for (int i = 0; i < growMb; i++) {
            grown[i] = new byte[MIB];
            grown[i][i % MIB] = 1;
        }
        long unmapped = 0;
        if (unmapMb > 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment native_ = arena.allocate((long) unmapMb * MIB); // large: mmap'd, unmapped on close
                native_.set(ValueLayout.JAVA_BYTE, native_.byteSize() - 1, (byte) 1);
                unmapped = native_.byteSize();
            }
        }
        try {
            helper.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("mb", mb);
        out.put("sum", sum.get());
        out.put("grownMb", grown.length);
        out.put("unmappedBytes", unmapped);
        return out;
    }

    private long sum(int fromMb, int toMb) {
        long s = 0;
        for (int m = fromMb; m < toMb; m++) {
            for (byte b : pattern[m]) {
                s += b;
            }
        }
        return s;
    }

    private static int intOf(Map<String, Object> input, String key, int fallback) {
        return input != null && input.get(key) instanceof Number n ? n.intValue() : fallback;
    }
}
