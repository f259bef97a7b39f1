package io.kyros.collab.app;

import io.kyros.collab.CollabException;
import io.kyros.collab.DependencyException;
import io.kyros.collab.InvalidTransitionException;
import io.kyros.collab.InvalidValueException;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.StorageException;
import io.kyros.collab.UpdateConflictException;
import picocli.CommandLine;

/**
 * The one place where failures become exit codes:
 *
 * <pre>
 * 0  ok
 * 1  conflict or failed precondition (412, 409, stale fence, invalid transition, lease held)
 * 2  usage (bad option or argument, invalid value)
 * 3  not found
 * 4  storage error (the store cannot be opened or read, the server cannot be reached)
 * 5  rate limited (429: the server's limit for this caller is spent; its message says when to retry)
 * </pre>
 *
 * A command prints its outcome and returns 0, or throws; the handler here prints the exception's
 * message (never a stack trace, its control characters escaped by {@link TerminalText}) to stderr and maps it with {@link #of(Throwable)}. A command that
 * talks to the HTTP API maps a response status with {@link #ofStatus(int)}.
 *
 * <p>Stateless and thread-safe.
 */
final class ExitCodes {
  static final int OK = 0;
  static final int CONFLICT = 1;
  static final int USAGE = 2;
  static final int NOT_FOUND = 3;
  static final int STORAGE = 4;
  static final int RATE_LIMITED = 5;

  private ExitCodes() {}

  /**
   * @param t a failure that ended a command
   * @return its exit code
   */
  static int of(Throwable t) {
    if (t instanceof ApiException api) {
      return ofStatus(api.status());
    }
    if (t instanceof CommandLine.ParameterException
        || t instanceof IllegalArgumentException
        || t instanceof InvalidValueException
        || t instanceof NullPointerException) {
      return USAGE;
    }
    if (t instanceof NotFoundException) {
      return NOT_FOUND;
    }
    if (t instanceof PreconditionFailedException
        || t instanceof LeaseLostException
        || t instanceof InvalidTransitionException
        || t instanceof UpdateConflictException
        || t instanceof DependencyException
        || t instanceof IllegalStateException
        || t instanceof ConflictException) {
      return CONFLICT;
    }
    if (t instanceof StorageException || t instanceof java.io.IOException
        || t instanceof java.io.UncheckedIOException) {
      return STORAGE;
    }
    if (t instanceof CollabException) {
      return CONFLICT;
    }
    return STORAGE;
  }

  /**
   * @param status an HTTP status the API answered
   * @return the exit code a command reports for it
   */
  static int ofStatus(int status) {
    if (status < 400) {
      return OK;
    }
    switch (status) {
      case 404:
        return NOT_FOUND;
      case 429:
        return RATE_LIMITED;
      case 409:
      case 412:
      case 428:
        return CONFLICT;
      case 400:
      case 401:
      case 403:
      case 405:
      case 413:
      case 415:
        return USAGE;
      default:
        return STORAGE;
    }
  }

  static int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
    cl.getErr().println("collab: " + TerminalText.safe(message(ex))); // it may quote stored text or a server's answer
    cl.getErr().flush();
    return of(ex);
  }

  static int handleParameterException(CommandLine.ParameterException ex, String[] args) {
    CommandLine cl = ex.getCommandLine();
    cl.getErr().println("collab: " + TerminalText.safeLines(ex.getMessage()));
    if (!CommandLine.UnmatchedArgumentException.printSuggestions(ex, cl.getErr())) {
      cl.getErr().println("Try '" + cl.getCommandSpec().qualifiedName() + " --help'.");
    }
    cl.getErr().flush();
    return USAGE;
  }

  private static String message(Throwable t) {
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m;
  }
}
