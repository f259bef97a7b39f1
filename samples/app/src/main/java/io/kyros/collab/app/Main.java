package io.kyros.collab.app;

/**
 * Entry point of {@code collab.jar}: runs the {@code collab} command line and exits with its code
 * ({@link ExitCodes}).
 *
 * <p>Not instantiable.
 */
public final class Main {
  private Main() {}

  /**
   * Runs one command and exits the JVM with its exit code, unless the command keeps running
   * ({@code serve}, {@code mcp}), which exit when stopped.
   *
   * @param args the command line
   */
  public static void main(String[] args) {
    int code = CollabCommand.execute(args);
    System.exit(code);
  }
}
