package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A handler that shuts its own pool down (a review's suspicion, reproduced): the shutdown waited for that handler up
 * to its deadline, then released the claim of the task the handler was still running, which went back to the queue.
 * It is refused with a message saying why, and nothing is shut down: the handler's outcome is recorded as usual.
 */
@Timeout(60)
class ShutdownFromHandlerTest {
  private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));

  @Test
  void aHandlerCannotShutItsOwnPoolDown() throws Exception {
    AtomicReference<WorkerPool> self = new AtomicReference<>();
    CompletableFuture<Throwable> refused = new CompletableFuture<>();
    try (Collab collab = Collab.builder().storage(MemoryStorage.create(clock)).holder("me").build()) {
      String id = collab.tasks().create(NewTask.of("stop").withLabels("x")).id();
      CompletableFuture<Task> done = new CompletableFuture<>();
      collab.events().subscribe(0, EventFilter.all().types("task_completed"), new EventListener() {
        @Override
        public void onEvent(Event event) {
          done.complete(collab.tasks().get(id).orElseThrow());
        }

        @Override
        public void onError(Throwable error) {
          done.completeExceptionally(error);
        }
      });
      WorkerPool.Builder b = WorkerPool.builder(collab).agentId("w").handler("x", ctx -> {
        try {
          self.get().shutdown(Duration.ZERO);
          refused.complete(null);
        } catch (Throwable t) {
          refused.complete(t);
        }
        return Outcome.done();
      });
      try (WorkerPool pool = b.start()) {
        self.set(pool);
        Throwable t = refused.get(20, TimeUnit.SECONDS);
        assertThat(t).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("cannot be shut down from its own handler (task " + id + ")");
        assertThat(done.get(20, TimeUnit.SECONDS).status()).as("the handler's outcome recorded").isEqualTo("done");
        assertThat(pool.isClaiming()).isTrue();
      }
    }
  }
}
