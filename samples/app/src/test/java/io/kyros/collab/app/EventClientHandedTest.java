package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.memory.MemoryStorage;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.Test;

/**
 * While a client's pump hands matching events to {@code deliver}, the position it reports as seen (what a long poll
 * answers as {@code last_id} when its wait ends at that moment) stays before the first of them: found in review, the
 * pump had moved its cursor past them first, so a long poll whose timeout won the race answered an empty list with a
 * {@code last_id} past an event it never sent. {@link LongPollTimeoutRaceTest} plays the race over HTTP.
 */
class EventClientHandedTest {
  @Test
  void eventsBeingDeliveredAreNotReportedAsSeenUntilTheirWriteEnds() throws Exception {
    ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler();
    scheduler.start();
    Collab collab = Collab.builder().storage(MemoryStorage.create()).holder("t").build();
    EventHub hub = new EventHub(collab, scheduler, ServerConfig.builder().build());
    try {
      hub.start();
      CompletableFuture<long[]> atDelivery = new CompletableFuture<>();
      EventClient client = new EventClient(hub, e -> e.type().equals("wanted"), 0) {
        @Override
        void deliver(List<Event> events) {
          long[] seen = {seenThrough(), events.get(0).id(), 0};
          written();
          seen[2] = seenThrough();
          atDelivery.complete(seen);
        }

        @Override
        void failed(Throwable error) {
          atDelivery.completeExceptionally(error);
        }

        @Override
        void close() {
          markClosed();
        }
      };
      collab.events().append("other", "x/1", Map.of());
      long wanted = collab.events().append("wanted", "x/2", Map.of()).id();
      hub.register(client);

      long[] seen = atDelivery.get(30, TimeUnit.SECONDS);
      assertThat(seen[1]).isEqualTo(wanted);
      assertThat(seen[0]).as("seen through, while event %d is being delivered", wanted).isEqualTo(wanted - 1);
      assertThat(seen[2]).as("once its write ended").isEqualTo(wanted);
    } finally {
      hub.close();
      collab.close();
      scheduler.stop();
    }
  }
}
