package dev.thaw.lazy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The userfaultfd ioctls and message layout (linux/userfaultfd.h, x86_64).
 *
 * <p>Request numbers are {@code _IOC(dir, 0xAA, nr, size)} = {@code dir << 30 | size << 16 | 0xAA << 8 | nr}:
 * UFFDIO_COPY is {@code _IOWR} (dir 3) of the 40-byte {@code struct uffdio_copy {dst, src, len, mode; s64 copy}};
 * UFFDIO_ZEROPAGE is {@code _IOWR} of the 32-byte {@code struct uffdio_zeropage {range{start, len}, mode; s64 zeropage}};
 * UFFDIO_UNREGISTER and UFFDIO_WAKE are {@code _IOR} (dir 2) of the 16-byte {@code struct uffdio_range}.
 *
 * <p>Results follow {@link Libc}: bytes done, or {@code -errno}. When COPY or ZEROPAGE fail part way,
 * the kernel reports the bytes it did in the struct's last field; {@link #lastDone()} returns them.
 */
final class Userfaultfd {
    static final long UFFDIO_UNREGISTER = 0x8010aa01L;
    static final long UFFDIO_WAKE = 0x8010aa02L;
    static final long UFFDIO_COPY = 0xc028aa03L;
    static final long UFFDIO_ZEROPAGE = 0xc020aa04L;

    static final int PAGE_SIZE = 4096;
    static final long PAGE_MASK = ~(long) (PAGE_SIZE - 1);

    /** {@code sizeof(struct uffd_msg)}. */
    static final int MSG_SIZE = 32;
    static final int EVENT_PAGEFAULT = 0x12;
    static final int EVENT_FORK = 0x13;
    static final int EVENT_REMAP = 0x14;
    static final int EVENT_REMOVE = 0x15;
    static final int EVENT_UNMAP = 0x16;

    // struct uffd_msg: u8 event; u8 reserved1; u16 reserved2; u32 reserved3; then the 24-byte union at offset 8
    static final long MSG_EVENT = 0;
    static final long MSG_PAGEFAULT_ADDRESS = 16; // arg.pagefault = {u64 flags; u64 address; u32 ptid}
    static final long MSG_FORK_UFD = 8; // arg.fork = {u32 ufd}
    static final long MSG_REMAP_FROM = 8; // arg.remap = {u64 from; u64 to; u64 len}
    static final long MSG_REMAP_TO = 16;
    static final long MSG_REMAP_LEN = 24;
    static final long MSG_REMOVE_START = 8; // arg.remove = {u64 start; u64 end}
    static final long MSG_REMOVE_END = 16;

    private final Libc libc;
    private final MemorySegment args;
    private long lastDone;

    Userfaultfd(Libc libc, Arena arena) {
        this.libc = libc;
        this.args = arena.allocate(40, 8);
    }

    /**
     * Atomically fills {@code [dst, dst + len)} of the task with bytes from {@code src} and wakes
     * the threads waiting on it.
     *
     * @return 0, or {@code -errno}; on failure {@link #lastDone()} is how many bytes were installed
     */
    int copy(int uffd, long dst, MemorySegment src, long len) {
        if (len > src.byteSize()) {
            throw new IndexOutOfBoundsException("copying " + len + " bytes from a segment of " + src.byteSize());
        }
        return copy(uffd, dst, src.address(), len);
    }

    /**
     * {@link #copy(int, long, MemorySegment, long)} from a native address, without a segment for the
     * slice (the fault path allocates nothing): the caller checked that {@code [src, src + len)} is
     * inside a live segment.
     */
    int copy(int uffd, long dst, long src, long len) {
        args.set(ValueLayout.JAVA_LONG, 0, dst);
        args.set(ValueLayout.JAVA_LONG, 8, src);
        args.set(ValueLayout.JAVA_LONG, 16, len);
        args.set(ValueLayout.JAVA_LONG, 24, 0L); // mode 0: wake the faulting threads
        args.set(ValueLayout.JAVA_LONG, 32, 0L);
        int rc = libc.ioctl(uffd, UFFDIO_COPY, args);
        lastDone = rc == 0 ? len : Math.max(0, args.get(ValueLayout.JAVA_LONG, 32));
        return rc;
    }

    /** Maps the zero page over {@code [start, start + len)} and wakes waiters; same results as {@link #copy}. */
    int zeropage(int uffd, long start, long len) {
        args.set(ValueLayout.JAVA_LONG, 0, start);
        args.set(ValueLayout.JAVA_LONG, 8, len);
        args.set(ValueLayout.JAVA_LONG, 16, 0L);
        args.set(ValueLayout.JAVA_LONG, 24, 0L);
        int rc = libc.ioctl(uffd, UFFDIO_ZEROPAGE, args);
        lastDone = rc == 0 ? len : Math.max(0, args.get(ValueLayout.JAVA_LONG, 24));
        return rc;
    }

    /** Wakes threads waiting on faults in the range without installing anything (they fault again). */
    int wake(int uffd, long start, long len) {
        return rangeIoctl(uffd, UFFDIO_WAKE, start, len);
    }

    /** Stops tracking the range: its faults are handled by the kernel from then on (zero-fill). */
    int unregister(int uffd, long start, long len) {
        return rangeIoctl(uffd, UFFDIO_UNREGISTER, start, len);
    }

    /** @return bytes the last {@link #copy} or {@link #zeropage} installed */
    long lastDone() {
        return lastDone;
    }

    private int rangeIoctl(int uffd, long request, long start, long len) {
        args.set(ValueLayout.JAVA_LONG, 0, start);
        args.set(ValueLayout.JAVA_LONG, 8, len);
        return libc.ioctl(uffd, request, args);
    }
}
