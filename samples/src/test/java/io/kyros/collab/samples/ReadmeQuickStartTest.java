package io.kyros.collab.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compiles and runs the Java quick start exactly as README.md shows it. */
class ReadmeQuickStartTest {

  @Test
  void quickStartCompilesAndRuns(@TempDir Path dir) throws Exception {
    String printed = PageExample.compileAndRun(Path.of("..", "README.md"), "QuickStart", dir);
    assertThat(printed).contains("got the report lease with fence 1");
    for (String line : List.of("created document `orders/42`", "replaced document `orders/42`",
        "acquired lease on `nightly-report`", "released lease on `nightly-report`", "claimed task",
        "completed task")) {
      assertThat(printed).contains(line);
    }
  }
}
