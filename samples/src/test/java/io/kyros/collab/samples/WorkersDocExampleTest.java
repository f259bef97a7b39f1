package io.kyros.collab.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compiles and runs the example of docs/workers.md exactly as the page shows it. */
class WorkersDocExampleTest {

  @Test
  void workersExampleCompilesAndRuns(@TempDir Path dir) throws Exception {
    String printed = PageExample.compileAndRun(Path.of("..", "docs", "workers.md"), "WorkersExample", dir);
    assertThat(printed).contains("album: 100% (0 running)").contains("album ended completed")
        .contains("resizer-1 image worker [report, resize] ");
  }
}
