package dev.thaw.lazy;

import java.util.ArrayDeque;

/**
 * A restored process the daemon serves: its userfaultfd, whose pages it is (the pid in the image;
 * a forked child shares its parent's), and what of its lazy memory is still missing.
 */
final class Task {
    final int imagePid;
    final String name;
    final LazyRanges lazy;
    /** Faults the kernel answered with EAGAIN (its mappings were changing): retried after the next events. */
    final ArrayDeque<Long> deferredFaults = new ArrayDeque<>();
    int uffd;
    boolean exited;
    /**
     * Whether the restorer registered the task's lazy mappings: known once the task faulted (it
     * registers them all in one loop before anything touches task memory) or CRIU sent RSTF. Before
     * that, a copy would fail with ENOENT, which would wrongly mark pages unreachable.
     */
    boolean registered;
    /** A page known installed and still registered: a UFFDIO_ZEROPAGE there tells whether the task lives. */
    long probeAddress = -1;

    Task(int imagePid, String name, int uffd, LazyRanges lazy) {
        this.imagePid = imagePid;
        this.name = name;
        this.uffd = uffd;
        this.lazy = lazy;
    }

    @Override
    public String toString() {
        return name;
    }
}
