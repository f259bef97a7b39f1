package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.NewTask;
import io.kyros.collab.memory.MemoryStorage;
import org.junit.jupiter.api.Test;

/** The board resource of {@code collab mcp}: each status's section lists its oldest tasks, not all of them. */
class McpResourcesTest {

  @Test
  void eachSectionOfTheBoardListsTheOldestTasksOfItsStatusThenHowToPageOn() {
    try (Collab collab = Collab.builder().storage(MemoryStorage.create()).holder("agent").build()) {
      for (int i = 0; i < McpResources.COLUMN + 7; i++) {
        collab.tasks().create(NewTask.of("queued " + i).withId(String.format("q%03d", i)));
      }
      collab.tasks().complete(collab.tasks().claim("q000", "agent", java.time.Duration.ofMinutes(1)).orElseThrow());

      String board = new McpResources(collab).board();

      String queued = board.substring(board.indexOf("## queued"), board.indexOf("## claimed"));
      assertThat(queued.lines().filter(l -> l.startsWith("- `"))).hasSize(McpResources.COLUMN);
      assertThat(queued).contains("`q001` queued 1", "`q050` queued 50").doesNotContain("`q051`")
          .contains("- and more: the oldest 50 are shown; `GET /collab/tasks?status=queued&after=q050` lists the next");
      String done = board.substring(board.indexOf("## done"), board.indexOf("## failed"));
      assertThat(done).contains("`q000` queued 0").doesNotContain("and more");
      assertThat(board).contains("## failed\n(none)\n");
    }
  }
}
