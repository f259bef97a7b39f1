package io.kyros.collab;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** Test helper: a pool's {@code shutdown(ZERO)} on a thread of its own, for tests that hold the pool's dispatcher. */
final class BackgroundShutdown {
  private BackgroundShutdown() {}

  /**
   * Starts {@code pool.shutdown(Duration.ZERO)} on a new thread and returns once the pool stopped claiming (the
   * shutdown began), at most 30 s later.
   *
   * @param pool the pool
   * @return what the shutdown returns, or how it failed
   */
  static CompletableFuture<Boolean> begin(WorkerPool pool) {
    CompletableFuture<Boolean> stopped = new CompletableFuture<>();
    new Thread(() -> {
      try {
        stopped.complete(pool.shutdown(Duration.ZERO));
      } catch (Throwable t) {
        stopped.completeExceptionally(t);
      }
    }, "test-shutdown").start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (pool.isClaiming() && System.nanoTime() < deadline) {
      LockSupport.parkNanos(1_000_000L);
    }
    return stopped;
  }
}
