package io.kyros.collab.app;

import io.kyros.collab.Collab;
import io.kyros.collab.Task;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.Workflow;
import io.modelcontextprotocol.server.McpServerFeatures.SyncResourceSpecification;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The resources of {@code collab mcp}, both Markdown:
 *
 * <pre>
 * collab://board   the tasks by workflow status (a Kanban board): id, title, priority, labels, holder, dependencies
 * collab://log     the human log of the latest 100 events
 * </pre>
 *
 * <p>Thread-safe (read-only views of the store).
 */
final class McpResources {
  static final String BOARD = "collab://board";
  static final String LOG = "collab://log";
  private static final int LOG_EVENTS = 100;

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

  /** @return the board as Markdown: a section per workflow status, in the workflow's order */
  String board() {
    Workflow workflow = collab.tasks().workflow();
    Map<String, StringBuilder> columns = new LinkedHashMap<>();
    workflow.states().forEach(s -> columns.put(s, new StringBuilder()));
    for (Task t : collab.tasks().list(TaskFilter.all())) {
      StringBuilder col = columns.computeIfAbsent(t.status(), s -> new StringBuilder());
      col.append("- `").append(t.id()).append("` ").append(t.title()).append(" (p").append(t.priority());
      if (!t.labels().isEmpty()) {
        col.append(", labels ").append(String.join(" ", t.labels()));
      }
      if (t.assignee() != null) {
        col.append(", held by ").append(t.assignee());
      }
      if (!t.dependsOn().isEmpty()) {
        col.append(", after ").append(String.join(" ", t.dependsOn()));
      }
      col.append(")\n");
    }
    StringBuilder md = new StringBuilder("# Board (workflow ").append(workflow.name()).append(")\n");
    columns.forEach((status, items) -> md.append("\n## ").append(status).append('\n')
        .append(items.length() == 0 ? "(none)\n" : items));
    return md.toString();
  }

  /** @return the human log of the latest events */
  String log() {
    String md = collab.events().renderMarkdown(Math.max(0, collab.events().lastId() - LOG_EVENTS), LOG_EVENTS);
    return md.isBlank() ? "(no events yet)\n" : md;
  }

  private static McpSchema.ReadResourceResult text(String uri, String markdown) {
    return McpSchema.ReadResourceResult.builder(
        List.of(McpSchema.TextResourceContents.builder(uri, markdown).mimeType("text/markdown").build())).build();
  }
}
