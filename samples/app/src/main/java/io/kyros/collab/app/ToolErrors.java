package io.kyros.collab.app;

import io.kyros.collab.DependencyException;
import io.kyros.collab.InvalidTransitionException;
import io.kyros.collab.InvalidValueException;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.StorageException;
import io.kyros.collab.UpdateConflictException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place where a failed MCP tool call becomes the message the agent reads (the MCP
 * counterpart of {@link ExitCodes}): what failed, the current state where it is known, and what to
 * try. Core refuses bad arguments, unknown tasks, invalid transitions and missing dependencies
 * before it writes anything, so those messages say "Nothing was written". An unexpected failure is
 * logged with its stack trace on stderr; the agent gets one line.
 *
 * <p>Stateless and thread-safe.
 */
final class ToolErrors {
  private static final Logger LOG = LoggerFactory.getLogger(ToolErrors.class);

  private ToolErrors() {}

  /**
   * @param tool the tool that failed
   * @param e what it threw
   * @return the message for the agent
   */
  static String message(String tool, Throwable e) {
    return message(tool, e, "Nothing was written");
  }

  /**
   * @param tool the tool that failed
   * @param e what it threw
   * @param written what the call wrote before the refusal, said where a refusal alone says "Nothing was written"
   * @return the message for the agent
   */
  static String message(String tool, Throwable e, String written) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof ToolError) {
      return m;
    }
    if (e instanceof NotFoundException) {
      return m + ". " + written + "; check the id (tasks_ready lists ready tasks, task_get shows one).";
    }
    if (e instanceof InvalidTransitionException) {
      return m + ". " + written + ".";
    }
    if (e instanceof DependencyException) {
      return m + ". " + written + "; create the missing tasks first or leave them out of depends_on.";
    }
    if (e instanceof PreconditionFailedException) {
      return m + ". It changed since it was read: read it again (task_get) and retry.";
    }
    if (e instanceof LeaseLostException) {
      return m + ". It is no longer yours: acquire or claim it again.";
    }
    if (e instanceof UpdateConflictException) {
      return m + ". Others are changing it right now: retry.";
    }
    if (e instanceof IllegalArgumentException || e instanceof InvalidValueException
        || e instanceof NullPointerException) {
      return "invalid argument: " + m + ". " + written + ".";
    }
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
      return tool + " was interrupted (the server is stopping). Retry after it restarts.";
    }
    if (e instanceof StorageException) {
      LOG.warn("{}: storage error: {}", tool, m);
      return "storage error: " + m + ". Retry later.";
    }
    LOG.error("{} failed", tool, e);
    return "internal error in " + tool + ": " + e.getClass().getSimpleName() + ": " + m
        + ". Retry; if it persists, report it (the server's stderr has the details).";
  }
}
