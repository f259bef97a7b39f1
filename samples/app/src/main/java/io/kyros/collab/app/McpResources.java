package io.kyros.collab.app;

import io.kyros.collab.Collab;
import io.kyros.collab.MarkdownLogRenderer;
import io.kyros.collab.Task;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.Workflow;
import io.modelcontextprotocol.server.McpServerFeatures.SyncResourceSpecification;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.List;

/**
 * The resources of {@code collab mcp}, both Markdown:
 *
 * <pre>
 * collab://board   the tasks by workflow status (a Kanban board): id, title, priority, labels, holder, dependencies;
 *                  the oldest 50 of each status
 * collab://log     the human log of the latest 100 events
 * </pre>
 *
 * <p>Thread-safe (read-only views of the store).
 */
final class McpResources {
  static final String BOARD = "collab://board";
  static final String LOG = "collab://log";
  private static final int LOG_EVENTS = 100;
  /** The most tasks a status's section of the board lists. */
  static final int COLUMN = 50;

  private final Collab collab;

  McpResources(Collab collab) {
    this.collab = collab;
  }

  List<SyncResourceSpecification> specifications() {
    return List.of(
        new SyncResourceSpecification(McpSchema.Resource.builder(BOARD, "board")
            .description("Tasks by status (Kanban board).").mimeType("text/markdown").build(),
            (exchange, request) -> text(BOARD, board())),
        new SyncResourceSpecification(McpSchema.Resource.builder(LOG, "log")
            .description("Human log of the latest 100 events.").mimeType("text/markdown").build(),
            (exchange, request) -> text(LOG, log())));
  }

  /**
   * @return the board as Markdown: a section per workflow status, in the workflow's order, each with its oldest
   *     {@value #COLUMN} tasks read from the status's index (and how to page through the rest), so that its cost
   *     does not grow with the tasks done
   */
  String board() {
    Workflow workflow = collab.tasks().workflow();
    StringBuilder md = new StringBuilder("# Board (workflow ").append(workflow.name()).append(")\n");
    for (String status : workflow.states()) {
      List<Task> column = collab.tasks().list(TaskFilter.all().statuses(status).limit(COLUMN + 1));
      md.append("\n## ").append(status).append('\n');
      if (column.isEmpty()) {
        md.append("(none)\n");
      }
      for (Task t : column.subList(0, Math.min(COLUMN, column.size()))) {
        md.append("- `").append(t.id()).append("` ").append(t.title()).append(" (p").append(t.priority());
        if (!t.labels().isEmpty()) {
          md.append(", labels ").append(String.join(" ", t.labels()));
        }
        if (t.assignee() != null) {
          md.append(", held by ").append(t.assignee());
        }
        if (!t.dependsOn().isEmpty()) {
          md.append(", after ").append(String.join(" ", t.dependsOn()));
        }
        md.append(")\n");
      }
      if (column.size() > COLUMN) {
        md.append("- and more: the oldest ").append(COLUMN).append(" are shown; `GET /collab/tasks?status=")
            .append(status).append("&after=").append(column.get(COLUMN - 1).id()).append("` lists the next\n");
      }
    }
    return md.toString();
  }

  /** @return the human log of the latest events */
  String log() {
    String md = MarkdownLogRenderer.create().render(LatestEvents.of(collab, LOG_EVENTS));
    return md.isBlank() ? "(no events yet)\n" : md;
  }

  private static McpSchema.ReadResourceResult text(String uri, String markdown) {
    return McpSchema.ReadResourceResult.builder(
        List.of(McpSchema.TextResourceContents.builder(uri, markdown).mimeType("text/markdown").build())).build();
  }
}
