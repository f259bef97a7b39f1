package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.StoredEvent;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Found in review: a listener that restores its thread's interrupt flag (the usual idiom after catching an
 * {@code InterruptedException}) left it set for the tail's next storage read, which on a file store closes the
 * channel and fails the read (retried as a storage failure, logged). The tail clears it after each delivery.
 */
@Timeout(60)
class TailInterruptFlagTest {
  @Test
  void aListenersInterruptFlagNeverReachesTheStorage() throws Exception {
    List<Long> interruptedReads = new CopyOnWriteArrayList<>();
    CountDownLatch readAfterFirst = new CountDownLatch(1);
    ForwardingStorage storage = new ForwardingStorage(io.kyros.collab.memory.MemoryStorage.create()) {
      @Override
      public List<StoredEvent> readEvents(long afterId, int limit) {
        if (Thread.currentThread().isInterrupted()) {
          interruptedReads.add(afterId);
        }
        try {
          return super.readEvents(afterId, limit);
        } finally {
          if (afterId == 1) {
            readAfterFirst.countDown();
          }
        }
      }
    };
    try (Collab collab = Collab.builder().storage(storage).holder("alice").build()) {
      collab.events().append("note", "t", Map.of("n", 1));
      CompletableFuture<Event> second = new CompletableFuture<>();
      Subscription s = collab.events().subscribe(0, EventFilter.all(), e -> {
        if (e.id() == 1) {
          Thread.currentThread().interrupt(); // caught an InterruptedException and restored the status
        } else {
          second.complete(e);
        }
      });
      assertThat(readAfterFirst.await(30, TimeUnit.SECONDS)).isTrue();
      collab.events().append("note", "t", Map.of("n", 2));
      assertThat(second.get(30, TimeUnit.SECONDS).id()).isEqualTo(2);
      s.close();
      assertThat(interruptedReads).as("reads made with the listener's interrupt flag set").isEmpty();
    }
  }
}
