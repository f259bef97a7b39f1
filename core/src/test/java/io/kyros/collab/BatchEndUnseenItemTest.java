package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A batch that ends aborted or cancelled cancels every queued item, even one its step did not find.
 * The read of the in-flight tasks is not a snapshot with the batch record's read: a process sharing
 * a file store can read the batch record of a commit before that commit's new item task file is
 * there. Such an item is queued by the time the ending commits, and nothing else cancels it before a
 * worker claims it after the end (once seen by {@code BatchProcessTest} with three JVMs: a
 * {@code task_claimed} after the {@code batch_state_changed} to aborted). Here the storage hides one
 * queued item from the step's first read; the ending must not commit on that read. The same holds
 * for an item read running that its worker hands back to the queue while the ending commits. Both
 * use {@code cancel}; an abort ends through the same branch of {@code BatchCommits.decide}.
 */
class BatchEndUnseenItemTest {
  /** Hides the armed task from the next read of it, once. */
  static final class HidingStorage extends ForwardingStorage {
    final AtomicReference<RecordKey> hideOnce = new AtomicReference<>();

    @Override
    public Optional<StoredRecord> read(RecordKey key) {
      RecordKey hidden = hideOnce.get();
      if (key.equals(hidden) && hideOnce.compareAndSet(hidden, null)) {
        return Optional.empty();
      }
      return super.read(key);
    }
  }

  private final HidingStorage storage = new HidingStorage();

  @Test
  void aCancelCancelsAQueuedItemItsFirstReadDidNotFind() {
    try (Collab collab = Collab.builder().storage(storage).holder("alice").build()) {
      collab.batches().submit(BatchSpec.builder("item").id("b")
          .items(List.of(BatchItem.of("i0", "p0"), BatchItem.of("i1", "p1"), BatchItem.of("i2", "p2")))
          .concurrency(2).build());
      assertThat(collab.tasks().get("b.i1")).hasValueSatisfying(t -> assertThat(t.status()).isEqualTo("queued"));

      storage.hideOnce.set(RecordKeys.task("b.i1"));
      Batch end = collab.batches().cancel("b", "stop");

      assertThat(storage.hideOnce.get()).as("the step's read met the hidden item").isNull();
      assertThat(end.state()).isEqualTo(BatchState.CANCELLED);
      assertThat(collab.tasks().get("b.i1")).as("the item the first read missed")
          .hasValueSatisfying(t -> assertThat(t.status()).isEqualTo("failed"));
      assertThat(collab.tasks().get("b.i0")).hasValueSatisfying(t -> assertThat(t.status()).isEqualTo("failed"));
      assertThat(end.progress().cancelled()).isEqualTo(3);
      assertThat(collab.tasks().claimNext(Duration.ofMinutes(1))).as("a claim after the end").isEmpty();
    }
  }

  @Test
  void aCancelCancelsAnItemReadRunningThatIsReleasedBeforeItCommits() {
    try (Collab collab = Collab.builder().storage(storage).holder("alice").build();
        Collab rival = Collab.builder().storage(storage.delegate).holder("bob").build()) {
      collab.batches().submit(BatchSpec.builder("item").id("b")
          .items(List.of(BatchItem.of("i0", "p0"), BatchItem.of("i1", "p1"), BatchItem.of("i2", "p2")))
          .concurrency(2).build());
      TaskClaim claim = rival.tasks().claim("b.i1", "bob", Duration.ofMinutes(1)).orElseThrow();
      AtomicReference<Task> released = new AtomicReference<>();
      // between the step's read (b.i1 claimed) and its commit, the worker hands the item back (Outcome.RELEASE)
      storage.interceptNext((commit, next) -> {
        released.set(rival.tasks().release(claim));
        return next.commit(commit);
      });

      Batch end = collab.batches().cancel("b", "stop");

      assertThat(released.get()).as("the release ran inside the ending's first commit")
          .satisfies(t -> assertThat(t.status()).isEqualTo("queued"));
      assertThat(end.state()).isEqualTo(BatchState.CANCELLED);
      assertThat(collab.tasks().get("b.i1")).as("the item released while the ending committed")
          .hasValueSatisfying(t -> assertThat(t.status()).isEqualTo("failed"));
      assertThat(end.progress().cancelled()).isEqualTo(3);
      assertThat(collab.tasks().claimNext(Duration.ofMinutes(1))).as("a claim after the end").isEmpty();
    }
  }
}
