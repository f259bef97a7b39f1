package io.kyros.collab.app;

import io.kyros.collab.Collab;
import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code collab mcp}: an MCP server over stdio for one AI coding agent ({@link CollabMcpServer}),
 * until the client closes stdin (or the process is stopped). Several agents on one machine each
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
    CountDownLatch ended = new CountDownLatch(1);
    InputStream protocolIn = new EndAware(new FileInputStream(FileDescriptor.in), ended);
    OpenStore open = store.open();
    Collab collab = open.as(name);
    CollabMcpServer server = new CollabMcpServer(collab, new CollabCommand.Version().getVersion()[0], protocolIn,
        protocolOut);
    AtomicBoolean closed = new AtomicBoolean();
    Runnable close = () -> {
      if (closed.compareAndSet(false, true)) {
        server.close();
        open.close();
      }
    };
    Thread hook = new Thread(close, "collab-mcp-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    System.err.println("collab: MCP server for agent " + name + " on " + open.spec() + " (stdio)");
    ended.await();
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

  /** stdin that counts a latch down when it ends (the client closed it) or fails. */
  private static final class EndAware extends FilterInputStream {
    private final CountDownLatch ended;

    EndAware(InputStream in, CountDownLatch ended) {
      super(in);
      this.ended = ended;
    }

    @Override
    public int read() throws IOException {
      return ended(watch(super::read));
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return ended(watch(() -> super.read(b, off, len)));
    }

    private int ended(int n) {
      if (n < 0) {
        ended.countDown();
      }
      return n;
    }

    private int watch(IoRead read) throws IOException {
      try {
        return read.read();
      } catch (IOException e) {
        ended.countDown();
        throw e;
      }
    }

    @FunctionalInterface
    private interface IoRead {
      int read() throws IOException;
    }
  }
}
