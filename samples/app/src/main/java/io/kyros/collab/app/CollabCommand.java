package io.kyros.collab.app;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The root command, {@code collab}. Each subcommand is its own class, registered in
 * {@code subcommands} below: to add one, write a class annotated with {@code @Command} that
 * implements {@code Callable<Integer>}, mixes in {@link StoreOptions} if it opens a store, and
 * add it here. Exceptions that escape a subcommand become exit codes in one place,
 * {@link ExitCodes}.
 *
 * <p>Instances are not thread-safe; one is built per command line.
 */
@Command(
    name = "collab",
    mixinStandardHelpOptions = true,
    versionProvider = CollabCommand.Version.class,
    description = "Coordination core for teams of workers: tasks, leases, an event log and documents.",
    subcommands = {
        ServeCommand.class,
        McpCommand.class,
        TasksCommand.class,
        LeasesCommand.class,
        EventsCommand.class,
        LogCommand.class,
        CommandLine.HelpCommand.class,
    })
final class CollabCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }

  /**
   * Builds the command line with the app's exception and exit-code handling.
   *
   * @return the command line, ready to execute
   */
  static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new CollabCommand());
    cl.setExecutionExceptionHandler(ExitCodes::handleExecutionException);
    cl.setParameterExceptionHandler(ExitCodes::handleParameterException);
    cl.setExitCodeExceptionMapper(ExitCodes::of);
    return cl;
  }

  /**
   * Runs one command line.
   *
   * @param args the arguments
   * @return the exit code ({@link ExitCodes})
   */
  static int execute(String... args) {
    return commandLine().execute(args);
  }

  /** The version printed by {@code --version}: the jar's implementation version. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = CollabCommand.class.getPackage().getImplementationVersion();
      return new String[] {"collab " + (v == null ? "(development build)" : v)};
    }
  }
}
