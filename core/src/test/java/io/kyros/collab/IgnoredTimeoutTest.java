package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Bug (found in review): a handler past its timeout that ignored the interrupt kept its claim for ever (its keep-alive
 * renewed it, the attempt never failed, the task was never retried). One timeout after the interrupt the attempt now
 * fails without it.
 */
@Timeout(60)
class IgnoredTimeoutTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  /**
   * A handler past its timeout that does not answer the interrupt keeps its claim alive for as long as it runs: the
   * attempt never fails, the task is never retried, the slot never frees.
   */
  @Test
  void aHandlerPastItsTimeoutThatIgnoresTheInterruptDoesNotHoldItsClaimForEver() throws Exception {
    CountDownLatch stuck = new CountDownLatch(1);
    CountDownLatch started = new CountDownLatch(1);
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").handlerTimeout(Duration.ofMillis(100))
          .shutdownTimeout(Duration.ZERO)
          .handler("x", ctx -> {
            started.countDown();
            while (true) { // a blocking call that does not answer interrupts
              try {
                if (stuck.await(30, TimeUnit.SECONDS)) {
                  return Outcome.done();
                }
              } catch (InterruptedException ignored) {
                // keeps waiting
              }
            }
          }).start()) {
        collab.tasks().create(NewTask.of("t").withId("t").withLabels("x"));
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        try {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); // 50 x the timeout
          while (collab.tasks().currentClaim("t").isPresent() && System.nanoTime() < deadline) {
            LockSupport.parkNanos(10_000_000L);
          }
          assertThat(collab.tasks().currentClaim("t")).as("claim 5 s after a 100 ms handler timeout").isEmpty();
          assertThat(collab.tasks().get("t").orElseThrow().lastError())
              .startsWith("io.kyros.collab.HandlerTimeoutException");
        } finally {
          stuck.countDown();
        }
      }
    }
  }

  /**
   * Bug (found in review): the end of a handler that ignored its timeout ran its storage commits on the pool's single
   * timer thread, so a commit that blocked (a stalled store: up to the storage's retry timeout) held back every other
   * run's timeout meanwhile. Here that commit is held until the test lets it go, and another run's timeout must fire
   * in the meantime.
   */
  @Test
  void aBlockedEndOfAnIgnoredTimeoutDoesNotDelayAnotherRunsTimeout() throws Exception {
    CountDownLatch stuckStarted = new CountDownLatch(1);
    CountDownLatch stuck = new CountDownLatch(1);
    CountDownLatch endHeld = new CountDownLatch(1);
    CountDownLatch endGoes = new CountDownLatch(1);
    CountDownLatch otherInterrupted = new CountDownLatch(1);
    AtomicBoolean held = new AtomicBoolean();
    AtomicReference<Thread> ender = new AtomicReference<>();
    ForwardingStorage storage = new ForwardingStorage(MemoryStorage.create(clock));
    storage.intercept((commit, next) -> {
      // the first commit on task "a" after its handler started: the end of its ignored timeout (the claim ttl is too
      // long for a renewal meanwhile)
      if (stuckStarted.getCount() == 0 && commit.writes().stream().anyMatch(w -> w.key().id().equals("a"))
          && held.compareAndSet(false, true)) {
        ender.set(Thread.currentThread());
        endHeld.countDown();
        try {
          endGoes.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      return next.commit(commit);
    });
    try (Collab collab = Collab.builder().storage(storage).holder("me").build()) {
      try (WorkerPool pool = WorkerPool.builder(collab).agentId("w").concurrency(2).claimTtl(Duration.ofMinutes(5))
          .handlerTimeout(Duration.ofMillis(200)).shutdownTimeout(Duration.ZERO)
          .handler("stuck", ctx -> {
            stuckStarted.countDown();
            while (true) { // a blocking call that does not answer interrupts
              try {
                if (stuck.await(30, TimeUnit.SECONDS)) {
                  return Outcome.done();
                }
              } catch (InterruptedException ignored) {
                // keeps waiting
              }
            }
          })
          .handler("polite", ctx -> {
            try {
              new CountDownLatch(1).await(); // until its timeout interrupts it
              return Outcome.done();
            } catch (InterruptedException e) {
              otherInterrupted.countDown();
              throw e;
            }
          }).start()) {
        try {
          collab.tasks().create(NewTask.of("a").withId("a").withLabels("stuck"));
          assertThat(stuckStarted.await(10, TimeUnit.SECONDS)).as("handler a started").isTrue();
          assertThat(endHeld.await(10, TimeUnit.SECONDS)).as("the end of a's ignored timeout reached its commit")
              .isTrue();
          collab.tasks().create(NewTask.of("b").withId("b").withLabels("polite"));
          assertThat(otherInterrupted.await(10, TimeUnit.SECONDS))
              .as("b's 200 ms timeout fired while a's end was blocked in its commit").isTrue();
        } finally {
          endGoes.countDown();
          stuck.countDown();
        }
        FlowPublisherTest.awaitCondition("a's claim ended", () -> collab.tasks().currentClaim("a").isEmpty());
        assertThat(collab.tasks().get("a").orElseThrow().lastError())
            .startsWith("io.kyros.collab.HandlerTimeoutException");
        FlowPublisherTest.awaitCondition("b's claim ended", () -> collab.tasks().currentClaim("b").isEmpty());
        assertThat(collab.tasks().get("b").orElseThrow().lastError())
            .startsWith("io.kyros.collab.HandlerTimeoutException");
      }
      // the thread that ended a's claim is the pool's, and goes with it
      ender.get().join(TimeUnit.SECONDS.toMillis(10));
      assertThat(ender.get().isAlive()).as(ender.get().getName() + " alive after the pool closed").isFalse();
    }
  }
}
