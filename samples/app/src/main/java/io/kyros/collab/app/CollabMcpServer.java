package io.kyros.collab.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kyros.collab.Collab;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.json.schema.jackson2.DefaultJsonSchemaValidator;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpServerFeatures.SyncResourceSpecification;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.server.McpSyncServer;
import io.modelcontextprotocol.server.transport.StdioServerTransportProvider;
import io.modelcontextprotocol.spec.McpSchema;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MCP server of {@code collab mcp} on the official MCP Java SDK: a sync server on the SDK's
 * stdio transport, with the tools of {@link TaskTools} and {@link CoordinationTools} and the
 * resources of {@link McpResources}, all acting as one agent (a {@link Collab} whose holder is the
 * agent, so every event they record names it as actor). Tool calls run on the SDK's bounded elastic
 * threads, so a long poll ({@code events} with {@code wait_seconds}) does not hold up other calls.
 * The SDK checks arguments against each tool's schema first; the tools check the rest.
 *
 * <p>Thread-safe. {@link #close()} ends the tools' waits ({@link #stopWaiting()}), stops the server, waits up to
 * {@link #CLOSE_GRACE} for the tool calls and resource reads running to end (one that starts later is refused), and
 * gives back the agent's presence, if this session holds it; the caller closes the store after that.
 */
final class CollabMcpServer implements AutoCloseable {
  static final String INSTRUCTIONS = "Collab coordinates agents sharing one task list. Claim work with task_claim and "
      + "keep its fence; heartbeat with task_update; end with task_finish. Reserve files with lease. Wait for "
      + "changes with events {wait_seconds} instead of polling.";

  /** How long {@link #close()} waits for the tool calls running to end before it goes on. */
  static final Duration CLOSE_GRACE = Duration.ofSeconds(5);
  private static final Logger LOG = LoggerFactory.getLogger(CollabMcpServer.class);

  private final McpSyncServer server;
  private final CoordinationTools coordination;
  /** Guards {@link #running} and {@link #closing}. */
  private final Object calls = new Object();
  private int running;
  private boolean closing;

  /**
   * Starts serving on the given streams ({@link McpStdio}'s, on the process's stdin and stdout, in production).
   *
   * @param collab the agent's Collab
   * @param lastIdCoversEverySeenId {@link OpenStore#lastIdCoversEverySeenId()} of the store: whether an
   *     {@code events} position past the log's last id is refused
   * @param version the server version reported to clients
   * @param in where requests arrive, one per line, no line longer than {@link McpStdio#MAX_LINE_CHARS}
   * @param out where responses go, and nothing else
   */
  CollabMcpServer(Collab collab, boolean lastIdCoversEverySeenId, String version, InputStream in, OutputStream out) {
    ObjectMapper objectMapper = new ObjectMapper();
    McpJsonMapper mapper = new JacksonMcpJsonMapper(objectMapper);
    this.coordination = new CoordinationTools(collab, lastIdCoversEverySeenId);
    List<SyncToolSpecification> tools = new ArrayList<>();
    tools(collab, coordination).forEach(t -> tools.add(counted(t).specification(mapper)));
    this.server = McpServer.sync(new StdioServerTransportProvider(mapper, in, out, McpStdio.MAX_LINE_CHARS))
        .serverInfo("collab", version)
        .instructions(INSTRUCTIONS)
        .jsonMapper(mapper)
        .jsonSchemaValidator(new DefaultJsonSchemaValidator(objectMapper))
        .capabilities(McpSchema.ServerCapabilities.builder().tools(false).resources(false, false).build())
        .tools(tools)
        .resources(new McpResources(collab).specifications().stream().map(this::counted).toList())
        .build();
  }

  /**
   * @param collab the agent's Collab
   * @param coordination the coordination tools on it
   * @return every tool, in the order tools/list shows them
   */
  static List<McpTool> tools(Collab collab, CoordinationTools coordination) {
    List<McpTool> all = new ArrayList<>(new TaskTools(collab).tools());
    all.addAll(coordination.tools());
    return all;
  }

  /** @return the tool calls running now */
  int runningCalls() {
    synchronized (calls) {
      return running;
    }
  }

  /**
   * Ends the waits of the tools: long polls running return now, later calls do not wait
   * ({@link CoordinationTools#stopWaiting()}). Called when stdin ends, so that the answers can still be written.
   */
  void stopWaiting() {
    coordination.stopWaiting();
  }

  /** @return the tool, its calls counted in {@link #running}, and refused once {@link #close()} has begun */
  private McpTool counted(McpTool tool) {
    return new McpTool(tool.name(), tool.description(), tool.schema(), args -> {
      enter(() -> new ToolError("the server is shutting down; nothing was done"));
      try {
        return tool.handler().call(args);
      } finally {
        exit();
      }
    });
  }

  /** @return the resource, its reads counted in {@link #running}, and refused once {@link #close()} has begun */
  private SyncResourceSpecification counted(SyncResourceSpecification resource) {
    return new SyncResourceSpecification(resource.resource(), (exchange, request) -> {
      enter(() -> new IllegalStateException("the server is shutting down"));
      try {
        return resource.readHandler().apply(exchange, request);
      } finally {
        exit();
      }
    });
  }

  private void enter(java.util.function.Supplier<RuntimeException> refusal) {
    synchronized (calls) {
      if (closing) {
        throw refusal.get();
      }
      running++;
    }
  }

  private void exit() {
    synchronized (calls) {
      running--;
      calls.notifyAll();
    }
  }

  /**
   * Stops the server, waits up to {@link #CLOSE_GRACE} for the tool calls running to end, then gives back the agent's
   * presence lease if this session holds it (the agent goes offline). A call still running then goes on against a
   * store the caller is about to close, and fails.
   */
  @Override
  public void close() {
    try {
      synchronized (calls) {
        closing = true;
      }
      coordination.stopWaiting();
      server.close();
      awaitCalls();
    } finally {
      coordination.close();
    }
  }

  private void awaitCalls() {
    long deadline = System.nanoTime() + CLOSE_GRACE.toNanos();
    boolean interrupted = false;
    synchronized (calls) {
      while (running > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          LOG.warn("closing with {} tool call(s) still running after {} s", running, CLOSE_GRACE.toSeconds());
          break;
        }
        try {
          calls.wait(Math.max(1, left / 1_000_000));
        } catch (InterruptedException e) {
          interrupted = true; // finish closing; the caller learns of the interrupt from the flag
          break;
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
