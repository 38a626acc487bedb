/**
 * thaw's own CRIU lazy-pages daemon, in Java with the FFM API: {@link dev.thaw.lazy.LazyPages#start}
 * serves the page faults of a {@code criu restore --lazy-pages} over userfaultfd from a
 * {@link dev.thaw.lazy.PageSource}, records the {@link dev.thaw.lazy.WorkingSet} an instance touches,
 * and installs a recorded working set up front on later restores. {@link dev.thaw.lazy.ImageIndex}
 * says where a task's pages are in the image and which byte ranges a lazy restore still reads itself.
 */
package dev.thaw.lazy;
