package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A commit's event function that throws a checked exception without declaring it (Kotlin, Groovy, a "sneaky throw" in
 * Java), found in review: nothing on the commit path caught it, so the attempt neither rolled back nor gave its
 * connection back; on the serialized databases the open transaction kept the counter row's lock and every later commit
 * of the database failed. It must reach the caller as thrown, with nothing committed and the connection back.
 */
class UndeclaredCheckedExceptionTest {
  @SuppressWarnings("unchecked")
  static <T extends Throwable> RuntimeException sneaky(Throwable t) throws T {
    throw (T) t;
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void aCheckedExceptionOfAnEventFunctionLeavesNoTransactionOpen(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "undeclared_");
        JdbcStorage storage = db.builder().retryTimeout(Duration.ofSeconds(3)).build()) {
      RecordKey bad = new RecordKey("g", "bad");
      Commit throwing = new Commit(List.of(Expectation.absent(bad)), List.of(Write.put(bad, "\"bad\"", "h")),
          revisions -> {
            throw sneaky(new IOException("the event function's own checked failure"));
          });
      assertThatThrownBy(() -> storage.commit(throwing)).isInstanceOf(IOException.class)
          .hasMessage("the event function's own checked failure");
      assertThat(db.dataSource().getHikariPoolMXBean().getActiveConnections())
          .as("connections still borrowed after the commit returned").isZero();
      assertThat(storage.read(bad)).isEmpty();
      RecordKey good = new RecordKey("g", "good");
      assertThat(storage.commit(Commit.of(List.of(), List.of(Write.put(good, "\"good\"", "h")),
          List.of(new NewEvent("e", "t", "x", "{}"))))).isInstanceOf(CommitResult.Committed.class);
    }
  }
}
