package io.kyros.collab.app;

import io.kyros.collab.Collab;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code collab mcp}: an MCP server over stdio for one AI coding agent ({@link CollabMcpServer}),
 * until the client closes stdin (or the process is stopped); a line on stdin that is not a JSON-RPC message is
 * answered with a JSON-RPC error and the server goes on ({@link McpStdio}). Several agents on one machine each
 * start their own process on the same {@code --store file:DIR} and coordinate through it, with no
 * server in between.
 *
 * <p>Nothing but the protocol goes to stdout: the process's real stdout is handed to the transport,
 * and {@code System.out} is pointed at stderr before the store is opened, so a library that prints
 * cannot corrupt the stream. Logs go to stderr (slf4j-simple).
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
@Command(name = "mcp", mixinStandardHelpOptions = true,
    description = "Serve MCP over stdio for an AI coding agent (tools for tasks, leases, events, the log).")
final class McpCommand implements java.util.concurrent.Callable<Integer> {
  private static final Pattern AGENT_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  @Mixin
  StoreOptions store;

  @Option(names = "--agent", paramLabel = "NAME", defaultValue = "${env:COLLAB_AGENT}",
      description = "The agent's name: the actor of its events and the holder of its claims "
          + "(default: $COLLAB_AGENT, else agent-<pid>).")
  String agent;

  @Override
  public Integer call() throws Exception {
    String name = agentName(agent);
    OutputStream protocolOut = new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16);
    System.setOut(System.err);
    McpStdio stdio = new McpStdio(new FileInputStream(FileDescriptor.in), protocolOut, McpStdio.MAX_LINE_CHARS);
    OpenStore open = store.open();
    Collab collab = open.as(name);
    CollabMcpServer server = new CollabMcpServer(collab, open.lastIdCoversEverySeenId(),
        new CollabCommand.Version().getVersion()[0], stdio.sdkIn(), stdio.sdkOut());
    AtomicBoolean closed = new AtomicBoolean();
    // one close, and whoever comes second (the shutdown hook on SIGTERM while stdin's end is being handled, or the
    // other way round) waits for it to finish: the JVM must not exit before the presence is given back
    Runnable close = () -> {
      synchronized (closed) {
        if (closed.compareAndSet(false, true)) {
          try {
            server.close(); // gives the agent's presence back while the store is open
          } finally {
            open.close();
          }
        }
      }
    };
    Thread hook = new Thread(close, "collab-mcp-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    System.err.println("collab: MCP server for agent " + name + " on " + open.spec() + " (stdio)");
    stdio.start();
    stdio.awaitStdinEnd();
    server.stopWaiting(); // long polls answer now, while the SDK still writes
    stdio.awaitEnd(); // the requests read are answered (or the grace is over)
    close.run();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the JVM is already exiting: the hook has run or runs the same idempotent close
    }
    return ExitCodes.OK;
  }

  /**
   * @param given the --agent value, or null
   * @return the agent's name
   * @throws IllegalArgumentException if it is not a valid name (exit code 2)
   */
  static String agentName(String given) {
    String name = given == null || given.isBlank() ? "agent-" + ProcessHandle.current().pid() : given;
    if (!AGENT_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("--agent must match " + AGENT_NAME.pattern() + ": \"" + name + "\"");
    }
    return name;
  }
}
