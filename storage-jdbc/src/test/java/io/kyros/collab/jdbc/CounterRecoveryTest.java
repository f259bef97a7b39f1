package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.StorageException;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The counter row deleted outside Collab: commits fail with a message naming a procedure that works, and that
 * procedure ({@code createSchema()}, which runs the shipped script) recreates the row from the tables' maxima, so no
 * revision a surviving record holds and no event id is handed out again. On PostgreSQL the counters are two sequences
 * (V2 of its schema): dropping them fails commits the same way, and {@code createSchema()} recreates them past the
 * tables' maxima.
 */
class CounterRecoveryTest {

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void createSchemaRestoresADeletedCounterRowFromTheTablesAndCommitsContinue(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "counters_");
        JdbcStorage storage = db.builder().build()) {
      RecordKey a = new RecordKey("c", "a");
      RecordKey b = new RecordKey("c", "b");
      committed(storage.commit(Commit.of(List.of(), List.of(Write.put(a, "{}", "h1"), Write.put(b, "{}", "h2")),
          List.of(event("one"), event("two")))));
      CommitResult.Committed last = committed(storage.commit(Commit.of(List.of(), List.of(Write.put(a, "{}", "h3")),
          List.of(event("three")))));
      long maxRevision = last.revisions().get(0);
      long lastEventId = last.events().get(0).id();

      if (kind == TestDatabase.Kind.POSTGRESQL) {
        // PostgreSQL's commits take revisions and event ids from sequences (the counter row is no longer used)
        db.execute("DROP SEQUENCE " + db.prefix + "collab_revision_seq", "DROP SEQUENCE " + db.prefix
            + "collab_event_seq");
        assertThatThrownBy(() -> storage.commit(Commit.of(List.of(), List.of(Write.put(a, "{}", "h")),
            List.of(event("refused"))))).isInstanceOf(StorageException.class)
            .hasMessageContaining(db.prefix + "collab_revision_seq")
            .hasMessageContaining("nothing was committed");
      } else {
        db.execute("DELETE FROM " + db.prefix + "collab_meta");
        assertThatThrownBy(() -> storage.commit(Commit.of(List.of(), List.of(), List.of(event("refused")))))
            .isInstanceOf(StorageException.class)
            .hasMessageContaining("counter row of " + db.prefix + "collab_meta is missing")
            .hasMessageContaining("createSchema()")
            .hasMessageContaining("largest revision in " + db.prefix + "collab_records")
            .hasMessageContaining("nothing was committed");
      }

      storage.createSchema();
      storage.createSchema(); // idempotent: the restored row stays as it is

      CommitResult.Committed next = committed(storage.commit(Commit.of(List.of(),
          List.of(Write.put(new RecordKey("c", "new"), "{}", "h4")), List.of(event("four")))));
      assertThat(next.revisions()).containsExactly(maxRevision + 1);
      assertThat(next.events().get(0).id()).isEqualTo(lastEventId + 1);
      assertThat(storage.readEvents(0, 10)).extracting(e -> e.type())
          .containsExactly("one", "two", "three", "four");
    }
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void createSchemaOnEmptyTablesStartsTheCountersAtZero(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "counters_");
        JdbcStorage storage = db.builder().build()) {
      db.execute("DELETE FROM " + db.prefix + "collab_meta");
      storage.createSchema();

      CommitResult.Committed first = committed(storage.commit(Commit.of(List.of(),
          List.of(Write.put(new RecordKey("c", "a"), "{}", "h")), List.of(event("one")))));
      assertThat(first.revisions()).containsExactly(1L);
      assertThat(first.events().get(0).id()).isEqualTo(1L);
    }
  }

  private static NewEvent event(String type) {
    return new NewEvent(type, "actor", "target", "{}");
  }

  private static CommitResult.Committed committed(CommitResult result) {
    assertThat(result).isInstanceOf(CommitResult.Committed.class);
    return (CommitResult.Committed) result;
  }
}
