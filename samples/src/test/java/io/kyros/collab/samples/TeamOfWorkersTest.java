package io.kyros.collab.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The main sample runs to completion: every task done, the flaky one after a retry. */
class TeamOfWorkersTest {

  @Test
  void everyTaskIsDoneAndTheLogIsPrinted() throws Exception {
    PrintStream original = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      TeamOfWorkers.main(new String[0]);
    } finally {
      System.setOut(original);
    }
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("Workers completed 8 tasks; board: {done=8}");
    assertThat(printed).contains("failed task `flaky`").contains("completed task `release`");
  }
}
