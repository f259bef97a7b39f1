package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading /proc/loadavg, and not failing where there is none. */
class LoadAverageTest {

  @TempDir
  Path dir;

  @Test
  void theFirstThreeFieldsAreTheAverages() throws Exception {
    Path file = Files.writeString(dir.resolve("loadavg"), "10.21 4.07 1.64 3/467 12345\n");

    assertThat(LoadAverage.read(file)).contains(new LoadAverage(10.21, 4.07, 1.64));
    assertThat(LoadAverage.read(file).orElseThrow().text()).isEqualTo("10.21 / 4.07 / 1.64");
  }

  @Test
  void aMissingOrGarbledFileGivesNothing() throws Exception {
    assertThat(LoadAverage.read(dir.resolve("absent"))).isEmpty();
    assertThat(LoadAverage.parse("busy")).isEmpty();
    assertThat(LoadAverage.parse("1.0 two 3.0")).isEmpty();
  }
}
