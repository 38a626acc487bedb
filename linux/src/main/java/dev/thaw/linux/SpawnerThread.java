package dev.thaw.linux;

import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A {@link Spawner} whose requests are served, in order, by one platform thread. */
final class SpawnerThread implements Spawner {
    private record Task(SpawnRequest request, CompletableFuture<Process> result) {
    }

    private final BlockingQueue<Task> tasks = new LinkedBlockingQueue<>();
    private final Thread thread;
    private boolean closed;

    SpawnerThread(String name) {
        this.thread = Thread.ofPlatform().daemon().name(name).start(this::serve);
    }

    @Override
    public Process spawn(SpawnRequest request) throws IOException {
        if (Thread.currentThread() == thread) {
            return NativeSpawn.spawn(request);
        }
        Task task = new Task(request, new CompletableFuture<>());
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("spawner " + thread.getName() + " is closed");
            }
            tasks.add(task);
        }
        // Not interruptible: a request taken is a process started, and its caller must own it.
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return task.result().get();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw new IOException(io.getMessage(), io);
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void serve() {
        while (true) {
            Task task;
            try {
                task = tasks.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                continue; // only close() ends this thread
            }
            if (task == null) {
                synchronized (this) {
                    if (closed && tasks.isEmpty()) {
                        return;
                    }
                }
                continue;
            }
            try {
                task.result().complete(NativeSpawn.spawn(task.request()));
            } catch (Throwable t) {
                task.result().completeExceptionally(t);
            }
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
    }
}
