package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.memory.MemoryStorage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.junit.jupiter.api.Test;

/**
 * Clients of the event hub take turns on its pump threads (found in review: a client resuming far back with a filter
 * that matched little scanned its whole stretch in one pump task, so two such clients held both pump threads and
 * every other stream waited). Each pump task reads one batch; the pumps run here by hand, one task at a time.
 */
class PumpTurnsTest {
  /** Runs nothing until asked: {@link #runNext()} runs the oldest task submitted. */
  private static final class ByHand extends AbstractExecutorService {
    final Deque<Runnable> tasks = new ArrayDeque<>();

    @Override
    public void execute(Runnable command) {
      tasks.add(command);
    }

    void runNext() {
      tasks.poll().run();
    }

    @Override
    public void shutdown() {}

    @Override
    public List<Runnable> shutdownNow() {
      return List.of();
    }

    @Override
    public boolean isShutdown() {
      return false;
    }

    @Override
    public boolean isTerminated() {
      return false;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
      return true;
    }
  }

  /** A client that records what it is handed and ends each write at once. */
  private static final class Recording extends EventClient {
    final List<Long> delivered = new ArrayList<>();

    Recording(EventHub hub, String type, long after) {
      super(hub, e -> e.type().equals(type), after);
    }

    @Override
    void deliver(List<Event> events) {
      events.forEach(e -> delivered.add(e.id()));
      written();
    }

    @Override
    void failed(Throwable error) {
      throw new AssertionError(error);
    }

    @Override
    void close() {
      markClosed();
    }
  }

  @Test
  void aClientScanningFarBackReadsOneBatchAPumpTaskAndTheOthersGetTheirTurn() throws Exception {
    ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler();
    scheduler.start();
    ByHand pumps = new ByHand();
    Collab collab = Collab.builder().storage(MemoryStorage.create()).holder("t").build();
    EventHub hub = new EventHub(collab, scheduler, ServerConfig.builder().build(), pumps);
    try {
      for (int i = 0; i < 3 * EventHub.BATCH; i++) {
        collab.events().append("noise", "x/" + i, Map.of());
      }
      long wanted = collab.events().append("wanted", "x/w", Map.of()).id();
      hub.start();
      Recording scanner = new Recording(hub, "rare", 0); // matches nothing: reads the whole log
      Recording other = new Recording(hub, "wanted", 0);
      hub.register(scanner);
      hub.register(other);

      pumps.runNext(); // the scanner's first turn: one batch, then it queues behind the other client
      assertThat(scanner.seenThrough()).isEqualTo(EventHub.BATCH);
      assertThat(pumps.tasks).hasSize(2);
      pumps.runNext(); // the other client's turn comes before the scanner's second batch
      assertThat(scanner.seenThrough()).isEqualTo(EventHub.BATCH);
      assertThat(other.seenThrough()).isEqualTo(EventHub.BATCH);
      while (!pumps.tasks.isEmpty()) {
        pumps.runNext();
      }
      assertThat(other.delivered).containsExactly(wanted);
      assertThat(scanner.delivered).isEmpty();
      assertThat(scanner.seenThrough()).isEqualTo(wanted);
    } finally {
      hub.close();
      collab.close();
      scheduler.stop();
    }
  }
}
