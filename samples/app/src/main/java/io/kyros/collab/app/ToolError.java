package io.kyros.collab.app;

import io.kyros.collab.CollabException;

/**
 * A tool call the MCP server refuses, with a message an agent can act on: what failed, the current
 * state, and what to try (for example "stale fence 3 for task t-1: it is now claimed by bob with
 * fence 4; do not finish it, call task_claim for other work"). It becomes a tool error result
 * ({@code isError: true}), never a protocol error, and never carries a stack trace.
 *
 * <p>Immutable and thread-safe.
 */
final class ToolError extends CollabException {
  private static final long serialVersionUID = 1L;

  ToolError(String message) {
    super(message);
  }
}
