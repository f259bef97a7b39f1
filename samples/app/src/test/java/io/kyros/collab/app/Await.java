package io.kyros.collab.app;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waits for a condition with a deadline (polling every few milliseconds); fails the test when the deadline passes. */
final class Await {
  private Await() {}

  static void until(Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("condition not met within " + timeout);
      }
      LockSupport.parkNanos(5_000_000);
    }
  }
}
