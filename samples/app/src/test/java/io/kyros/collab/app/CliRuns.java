package io.kyros.collab.app;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine;

/** Runs {@code collab} command lines in the test's process, as the review tests of the commands need them. */
final class CliRuns {
  private CliRuns() {}

  /** One command line's exit code and what it printed, untrimmed. */
  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = CollabCommand.commandLine();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /** @return {@code args} followed by {@code where} (the options go after the subcommand) */
  static String[] with(String[] where, String... args) {
    List<String> all = new ArrayList<>(Arrays.asList(args));
    all.addAll(Arrays.asList(where));
    return all.toArray(String[]::new);
  }

  /** The same command on a fresh file store under {@code dir} and through a fresh server: [store, server]. */
  static Run[] both(Path dir, String... args) throws Exception {
    Run store = run(with(new String[] {"--store", "file:" + dir.resolve("store")}, args));
    try (TestServer server = TestServer.start(dir.resolve("served"))) {
      Run served = run(with(new String[] {"--server", server.uri().toString()}, args));
      return new Run[] {store, served};
    }
  }
}
