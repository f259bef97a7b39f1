package io.kyros.collab.conformance;

import io.kyros.collab.spi.Commit;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Holds one commit open inside the backend's atomic section. A backend calls a commit's event function after it
 * has checked the expectations and assigned revisions and event ids, and before it writes anything (the SPI's
 * contract); {@link #hold(Commit)} returns the commit with an event function that stops there until
 * {@link #open()}, so a test can let other commits and readers run while this one is half done: the gap case of
 * event tailing, for serialized commits today and for parallel ones (a design where a later commit may finish
 * first) alike.
 *
 * <p>One gate holds one commit once: a backend that retries the commit and calls the event function again passes
 * straight through. Lives in core's test-jar. Thread-safe.
 */
public final class CommitGate {
  private final CountDownLatch held = new CountDownLatch(1);
  private final CountDownLatch opened = new CountDownLatch(1);
  private final Duration patience;

  /**
   * @param patience the longest the held commit waits for {@link #open()} before it fails the commit (so a broken
   *     test cannot hang a backend's writer forever)
   */
  public CommitGate(Duration patience) {
    this.patience = patience;
  }

  /**
   * @param commit the commit to hold
   * @return the commit, with an event function that blocks until {@link #open()} the first time it is called
   */
  public Commit hold(Commit commit) {
    return InterceptingStorage.withEvents(commit, revisions -> {
      held.countDown();
      try {
        if (!opened.await(patience.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new IllegalStateException("the gate was not opened within " + patience);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while held at the gate", e);
      }
      return commit.events().build(revisions);
    });
  }

  /**
   * Waits until the held commit has reached its event function.
   *
   * @throws AssertionError if it does not within the patience
   * @throws InterruptedException if interrupted
   */
  public void awaitHeld() throws InterruptedException {
    if (!held.await(patience.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError("the commit did not reach the gate within " + patience);
    }
  }

  /** @return true once the held commit reached its event function */
  public boolean isHeld() {
    return held.getCount() == 0;
  }

  /** Lets the held commit go on. */
  public void open() {
    opened.countDown();
  }
}
