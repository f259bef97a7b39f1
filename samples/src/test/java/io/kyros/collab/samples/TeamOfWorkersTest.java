package io.kyros.collab.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The main sample runs to completion on a file store: every task done, the flaky one after a retry. */
class TeamOfWorkersTest {

  @Test
  void everyTaskIsDoneAndTheLogIsPrinted(@TempDir Path parent) throws Exception {
    PrintStream original = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      TeamOfWorkers.main(new String[] {parent.toString()});
    } finally {
      System.setOut(original);
    }
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("Workers completed 8 tasks; board: {done=8}");
    assertThat(printed).contains("failed task `flaky`").contains("completed task `release`");
    try (Stream<Path> stores = Files.list(parent)) {
      Path store = stores.findFirst().orElseThrow();
      assertThat(store.resolve("state/_tasks/release.json")).exists();
      assertThat(Files.readString(store.resolve("events/00000000000000000001.jsonl"))).contains("\"event\":\"task_created\"");
    }
  }
}
