package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * After the counter row is restored by {@code createSchema()} (hardening item 10), the revision of a record deleted
 * after the newest surviving one is handed out again (docs/jdbc.md says so). Core caches parsed values by revision
 * alone ("which identifies a value uniquely"), so a Collab that lived through the recovery must still read back what
 * was written: a document written with the reused revision must not read as the deleted one's value.
 */
class CounterRecoveryReadBackTest {

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void aDocumentWrittenAfterCounterRecoveryReadsBackItsOwnValue(TestDatabase.Kind kind) {
    try (TestDatabase db = TestDatabase.open(kind, "recov_rb_");
        JdbcStorage storage = db.builder().build();
        Collab collab = Collab.builder().storage(storage).holder("reader").build()) {
      collab.documents().create("c", "kept", Map.of("v", "kept"));
      collab.documents().create("c", "gone", Map.of("v", "deleted value"));
      // read once, as any client would: core now caches the parsed value under gone's revision
      assertThat(collab.documents().get("c", "gone").orElseThrow().value().get("v").asText())
          .isEqualTo("deleted value");
      collab.documents().delete("c", "gone", io.kyros.collab.Preconditions.none());

      db.execute("DELETE FROM " + db.prefix + "collab_meta");
      storage.createSchema();

      collab.documents().create("c", "fresh", Map.of("v", "fresh value"));
      Document fresh = collab.documents().get("c", "fresh").orElseThrow();
      assertThat(fresh.value().get("v").asText()).as("value of c/fresh (revision %d)", fresh.revision())
          .isEqualTo("fresh value");
    }
  }
}
