package dev.thaw.linux;

import java.io.IOException;

/**
 * Starts processes from one long-lived platform thread of its own.
 *
 * <p>Why a thread of its own: {@code PR_SET_PDEATHSIG} (which thaw's sandbox launcher arms, and
 * which survives the exec of CRIU) fires when the <em>thread</em> that started the process exits,
 * not when the process does. A child started from a pool thread that retires, or from a virtual
 * thread whose carrier does, would be killed long before its parent process dies. A spawner's
 * thread lives as long as the spawner: start every process that must die with this one, and only
 * with this one, through a spawner that stays open ({@link NativeSpawn#spawner()} never closes).
 */
public interface Spawner extends AutoCloseable {

    /**
     * Starts {@code request} on the spawner's thread and waits for it to be started.
     *
     * @return the started process, reaped by a thread of its own
     * @throws IOException when a stream cannot be opened or the kernel refuses the process
     * @throws IllegalStateException when the spawner is closed
     */
    Process spawn(SpawnRequest request) throws IOException;

    /**
     * @param threadName the name of the spawner's thread
     * @return a new spawner, its thread started
     */
    static Spawner create(String threadName) {
        return new SpawnerThread(threadName);
    }

    /**
     * Lets the spawner's thread end once the requests already made are served. Processes it
     * started that armed a parent-death signal receive it then: close a spawner only when they are
     * gone or should go.
     */
    @Override
    void close();
}
