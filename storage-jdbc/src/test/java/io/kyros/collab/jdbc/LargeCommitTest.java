package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventDraft;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * One commit of more events or writes than a statement may carry parameters (65,535 with the PostgreSQL driver, which
 * sends a commit's writes and events as one round trip): accepted on every database, as on the other backends, with
 * ids and revisions dense and in order.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class LargeCommitTest {

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void appendAllOf12000And70000EventsCommitsEachAsOneBatch(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "large_");
        JdbcStorage storage = db.builder().build();
        Collab collab = Collab.builder().storage(storage).build()) {
      for (int size : new int[] {12_000, 70_000}) {
        long before = collab.events().lastId();
        List<EventDraft> drafts = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
          drafts.add(EventDraft.of("bulk", "t" + i, Map.of("i", i)));
        }
        List<Event> appended = collab.events().appendAll(drafts);

        assertThat(appended).hasSize(size);
        assertThat(appended.get(0).id()).isEqualTo(before + 1);
        assertThat(appended.get(size - 1).id()).isEqualTo(before + size);
        assertThat(collab.events().lastId()).isEqualTo(before + size);
        List<Event> last = collab.events().read(before + size - 2, 10);
        assertThat(last).extracting(Event::target).containsExactly("t" + (size - 2), "t" + (size - 1));
        assertThat(collab.events().read(before + 10_999, 1)).extracting(Event::target).containsExactly("t10999");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void aCommitOf7000WritesAndAsManyEventsCommitsAtomically(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "large_");
        JdbcStorage storage = db.builder().build()) {
      int size = 7_000; // 5 parameters per write and 6 per event: 77,000 parameters
      List<Write> writes = new ArrayList<>(size);
      List<NewEvent> events = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        writes.add(Write.put(new RecordKey("bulk", "r" + i), "{\"i\":" + i + "}", "h" + i));
        events.add(new NewEvent("bulk", "a", "r" + i, "{}"));
      }

      CommitResult result = storage.commit(Commit.of(List.of(), writes, events));

      assertThat(result).isInstanceOf(CommitResult.Committed.class);
      CommitResult.Committed committed = (CommitResult.Committed) result;
      assertThat(committed.revisions()).hasSize(size);
      assertThat(committed.revisions().get(size - 1) - committed.revisions().get(0)).isEqualTo(size - 1);
      assertThat(storage.lastEventId()).isEqualTo(committed.events().get(size - 1).id());
      assertThat(storage.read(new RecordKey("bulk", "r" + (size - 1)))).get()
          .satisfies(r -> assertThat(r.revision()).isEqualTo(committed.revisions().get(size - 1)));
      assertThat(storage.list("bulk", null, size + 1)).hasSize(size);
    }
  }
}
