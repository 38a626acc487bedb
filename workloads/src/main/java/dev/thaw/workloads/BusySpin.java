package dev.thaw.workloads;

import dev.thaw.api.Handler;
import dev.thaw.api.InvocationContext;
import java.util.SplittableRandom;

/**
 * A synthetic workload with a controllable service time and memory image. Handler:
 * {@code dev.thaw.workloads.BusySpin::handle}.
 *
 * <p>Each invocation spins the CPU for {@code serviceMs} (wall clock, {@link System#nanoTime()}),
 * advancing a xorshift64 generator whose final state feeds the checksum, so the JIT cannot drop the
 * loop; then it allocates {@code touchMb} of fresh memory and writes one byte per 4 KiB page.
 *
 * <p>Init fills a static padding array of {@code PADDING_MB} MiB (environment, default 0) with
 * non-zero pseudo-random bytes from a fixed seed: it grows the instance's memory, and so its
 * snapshot, by that much, and neither zero-page elision nor compression can shrink it away.
 */
public class BusySpin implements Handler<BusySpin.Input, BusySpin.Output> {

    /**
     * @param serviceMs how long to spin, in ms (0 to 600000)
     * @param touchMb how much fresh memory to touch, in MiB (0 to 4096)
     */
    public record Input(long serviceMs, int touchMb) {
    }

    /**
     * @param spunMs how long the spin actually took, in ms (at least {@code serviceMs})
     * @param touchedMb how much memory was touched, in MiB
     * @param checksum {@code state * 31 + sum}: the generator's state after {@code iterations} steps from
     *     {@code SPIN_SEED}, and the sum of the page bytes read back
     * @param iterations generator steps done while spinning
     * @param paddingMb size of the static padding, in MiB
     */
    public record Output(long spunMs, int touchedMb, long checksum, long iterations, int paddingMb) {
    }

    static final long SPIN_SEED = 0x9E3779B97F4A7C15L;
    static final long PADDING_SEED = 0x7468617770616444L;
    static final int PAGE = 4096;
    private static final int CHECK_EVERY = 1024;

    /** Static on purpose: it belongs to the process image, not to a request. */
    private static byte[] padding = new byte[0];

    /** Creates the handler with {@code PADDING_MB} MiB of padding (environment, default 0). */
    public BusySpin() {
        this(paddingMbFromEnvironment(System.getenv("PADDING_MB")));
    }

    /** Creates the handler with {@code paddingMb} MiB of padding. */
    BusySpin(int paddingMb) {
        Inputs.inRange("PADDING_MB", paddingMb, 0, 16 * 1024);
        synchronized (BusySpin.class) {
            if (padding.length != (long) paddingMb << 20) {
                padding = makePadding(paddingMb);
            }
        }
    }

    static int paddingMbFromEnvironment(String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            return Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("PADDING_MB must be a whole number of MiB, was '" + value + "'", e);
        }
    }

    /** @return {@code mb} MiB of non-zero pseudo-random bytes, the same for the same size */
    static byte[] makePadding(int mb) {
        byte[] bytes = new byte[Math.multiplyExact(mb, 1 << 20)];
        SplittableRandom random = new SplittableRandom(PADDING_SEED);
        for (int i = 0; i < bytes.length; i += 8) {
            long x = random.nextLong();
            for (int k = 0; k < 8; k++, x >>>= 8) {
                byte b = (byte) x;
                bytes[i + k] = b == 0 ? 1 : b;
            }
        }
        return bytes;
    }

    static byte[] padding() {
        synchronized (BusySpin.class) {
            return padding;
        }
    }

    @Override
    public Output handle(Input input, InvocationContext context) {
        Inputs.required(input, "{\"serviceMs\":50,\"touchMb\":16}");
        long serviceMs = Inputs.inRange("serviceMs", input.serviceMs(), 0, 600_000);
        int touchMb = Inputs.inRange("touchMb", input.touchMb(), 0, 4096);

        long start = System.nanoTime();
        long deadline = start + serviceMs * 1_000_000L;
        long state = SPIN_SEED;
        long iterations = 0;
        while (System.nanoTime() - deadline < 0) {
            for (int i = 0; i < CHECK_EVERY; i++) {
                state = xorshift(state);
            }
            iterations += CHECK_EVERY;
        }
        long spunMs = (System.nanoTime() - start) / 1_000_000L;

        long memorySum = touch(touchMb);
        int paddingMb = padding().length >> 20;
        return new Output(spunMs, touchMb, combine(state, memorySum), iterations, paddingMb);
    }

    /** One xorshift64 step (Marsaglia's 13, 7, 17). */
    static long xorshift(long x) {
        x ^= x << 13;
        x ^= x >>> 7;
        x ^= x << 17;
        return x;
    }

    /** Allocates {@code mb} MiB, writes a byte per page and returns the sum of the bytes read back. */
    private static long touch(int mb) {
        byte[] memory = new byte[Math.multiplyExact(mb, 1 << 20)];
        for (int offset = 0, page = 0; offset < memory.length; offset += PAGE, page++) {
            memory[offset] = pageByte(page);
        }
        long sum = 0;
        for (int offset = 0; offset < memory.length; offset += PAGE) {
            sum += memory[offset] & 0xFF;
        }
        return sum;
    }

    static byte pageByte(int page) {
        return (byte) (page * 31 + 17);
    }

    static long combine(long spinState, long memorySum) {
        return spinState * 31 + memorySum;
    }
}
