package dev.thaw.lazy;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the pages served on demand, in order, merging a page into the previous run when it
 * follows it in the same task. Written by the daemon's thread, read by whoever asks for
 * {@link LazyPagesServer#recorded()}.
 */
final class Recorder {
    private final List<WorkingSet.Run> runs = new ArrayList<>();

    synchronized void record(int pid, long imageAddress, int pages) {
        if (!runs.isEmpty()) {
            WorkingSet.Run last = runs.getLast();
            if (last.pid() == pid && last.end() == imageAddress) {
                runs.set(runs.size() - 1, new WorkingSet.Run(pid, last.vaddr(), last.pages() + pages));
                return;
            }
        }
        runs.add(new WorkingSet.Run(pid, imageAddress, pages));
    }

    synchronized WorkingSet snapshot() {
        return new WorkingSet(runs);
    }
}
