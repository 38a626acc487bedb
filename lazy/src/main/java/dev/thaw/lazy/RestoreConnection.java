package dev.thaw.lazy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;

/**
 * The restoring CRIU's side of {@code lazy-pages.socket}, as {@code criu/uffd.c} speaks it: for each
 * task a 4-byte host-order pid (the pid in the image), then for a live task one {@code sendmsg} of a
 * single byte carrying its userfaultfd as SCM_RIGHTS; a zombie sends its pid negated and no fd;
 * the end of the restore is the u32 {@code 0x52535446} ("RSTF"), which no pid can equal.
 *
 * <p>The socket is non-blocking and may deliver any part of that stream at a time, so bytes and
 * received descriptors are queued and parsed when complete. Every read is a {@code recvmsg} with
 * room for descriptors: a plain read would silently drop the ones attached to the bytes it consumes.
 */
final class RestoreConnection {
    static final int RESTORE_FINISHED = 0x52535446;

    /** What the stream said. */
    interface Listener {
        void task(int pid, int uffd);

        void zombie(int pid);

        void restoreFinished();
    }

    // struct msghdr (x86_64): name 0, namelen 8, iov 16, iovlen 24, control 32, controllen 40, flags 48
    private static final int MSGHDR_SIZE = 56;
    private static final int IOV_SIZE = 16;
    private static final int DATA_SIZE = 256;
    private static final int CONTROL_SIZE = 256;
    private static final int CMSG_HEADER = 16; // size_t len; int level; int type
    private static final int MSG_CTRUNC = 0x8;

    private final Libc libc;
    private final int fd;
    private final MemorySegment msghdr;
    private final MemorySegment iov;
    private final MemorySegment data;
    private final MemorySegment control;
    private final ByteBuffer pending = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());
    private final ArrayDeque<Integer> receivedFds = new ArrayDeque<>();
    private int pidAwaitingFd;
    private boolean closed;

    RestoreConnection(Libc libc, Arena arena, int fd) {
        this.libc = libc;
        this.fd = fd;
        this.msghdr = arena.allocate(MSGHDR_SIZE, 8);
        this.iov = arena.allocate(IOV_SIZE, 8);
        this.data = arena.allocate(DATA_SIZE, 8);
        this.control = arena.allocate(CONTROL_SIZE, 8);
    }

    int fd() {
        return fd;
    }

    /** @return whether CRIU closed its end */
    boolean closed() {
        return closed;
    }

    /** Reads what is available and reports every complete message to the listener. */
    void readAvailable(Listener listener) {
        while (!closed) {
            long n = receive();
            if (n == -Libc.EAGAIN) {
                return;
            }
            if (n == -Libc.EINTR) {
                continue;
            }
            if (n < 0) {
                throw new IllegalStateException("recvmsg on lazy-pages.socket failed: " + Libc.errnoName((int) -n));
            }
            if (n == 0) {
                closed = true;
            }
            pending.put(data.asSlice(0, n).asByteBuffer());
            parse(listener);
        }
    }

    /** @return descriptors received but not claimed by a task (to be closed) */
    ArrayDeque<Integer> unclaimedFds() {
        return receivedFds;
    }

    private long receive() {
        iov.set(ValueLayout.ADDRESS, 0, data);
        iov.set(ValueLayout.JAVA_LONG, 8, Math.min(DATA_SIZE, pending.remaining()));
        msghdr.fill((byte) 0);
        msghdr.set(ValueLayout.ADDRESS, 16, iov);
        msghdr.set(ValueLayout.JAVA_LONG, 24, 1L);
        msghdr.set(ValueLayout.ADDRESS, 32, control);
        msghdr.set(ValueLayout.JAVA_LONG, 40, CONTROL_SIZE);
        long n = libc.recvmsg(fd, msghdr, Libc.MSG_CMSG_CLOEXEC);
        if (n >= 0) {
            collectFds();
        }
        return n;
    }

    private void collectFds() {
        long controlLength = msghdr.get(ValueLayout.JAVA_LONG, 40);
        for (long at = 0; at + CMSG_HEADER <= controlLength; ) {
            long length = control.get(ValueLayout.JAVA_LONG, at);
            int level = control.get(ValueLayout.JAVA_INT, at + 8);
            int type = control.get(ValueLayout.JAVA_INT, at + 12);
            if (length < CMSG_HEADER) {
                break;
            }
            if (level == Libc.SOL_SOCKET && type == Libc.SCM_RIGHTS) {
                for (long p = at + CMSG_HEADER; p + 4 <= at + length; p += 4) {
                    receivedFds.add(control.get(ValueLayout.JAVA_INT, p));
                }
            }
            at += (length + 7) & ~7L;
        }
        if ((msghdr.get(ValueLayout.JAVA_INT, 48) & MSG_CTRUNC) != 0) {
            throw new IllegalStateException("userfaultfds from CRIU were truncated (MSG_CTRUNC)");
        }
    }

    private void parse(Listener listener) {
        pending.flip();
        while (true) {
            if (pidAwaitingFd != 0) {
                if (!pending.hasRemaining()) {
                    break;
                }
                pending.get(); // the byte the descriptor travelled with
                Integer uffd = receivedFds.poll();
                if (uffd == null) {
                    throw new IllegalStateException("CRIU sent pid " + pidAwaitingFd + " without its userfaultfd");
                }
                int pid = pidAwaitingFd;
                pidAwaitingFd = 0;
                listener.task(pid, uffd);
                continue;
            }
            if (pending.remaining() < 4) {
                break;
            }
            int value = pending.getInt();
            if (value == RESTORE_FINISHED) {
                listener.restoreFinished();
            } else if (value < 0) {
                listener.zombie(-value);
            } else if (value == 0) {
                throw new IllegalStateException("CRIU sent pid 0 on lazy-pages.socket");
            } else {
                pidAwaitingFd = value;
            }
        }
        pending.compact();
    }
}
