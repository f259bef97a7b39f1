package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.server.McpServerFeatures.SyncToolSpecification;
import io.modelcontextprotocol.spec.McpSchema;
import io.modelcontextprotocol.spec.McpSchema.CallToolResult;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One MCP tool of {@code collab mcp}: its name, one-line description, compact JSON Schema for its
 * arguments, and the handler. The handler returns a JSON node (sent as compact JSON text) or a
 * string (sent as it is); whatever it throws becomes a tool error result with the message
 * {@link ToolErrors} gives, so a call never ends in a protocol error or a stack trace.
 *
 * <p>Immutable and thread-safe if the handler is.
 *
 * @param name the tool's name
 * @param description one line
 * @param schema the input schema, a JSON object text
 * @param handler what a call does
 */
record McpTool(String name, String description, String schema, Handler handler) {

  /** What a call does. */
  @FunctionalInterface
  interface Handler {
    /**
     * @param args the call's arguments
     * @return a {@link JsonNode} or a {@link String}
     * @throws Exception anything: it becomes a tool error
     */
    Object call(McpArgs args) throws Exception;
  }

  McpTool {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(schema, "schema");
    Objects.requireNonNull(handler, "handler");
  }

  /** @return the argument names the schema declares */
  Set<String> argumentNames() {
    JsonNode props;
    try {
      props = Json.MAPPER.readTree(schema).path("properties");
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("the schema of tool " + name + " is not JSON", e);
    }
    Set<String> names = new LinkedHashSet<>();
    props.fieldNames().forEachRemaining(names::add);
    return names;
  }

  /**
   * @param mapper the server's JSON mapper
   * @return the SDK's specification of this tool
   */
  SyncToolSpecification specification(McpJsonMapper mapper) {
    McpSchema.Tool tool = McpSchema.Tool.builder(name, mapper, schema).description(description).build();
    Set<String> known = argumentNames();
    return SyncToolSpecification.builder().tool(tool)
        .callHandler((exchange, request) -> call(request.arguments(), known))
        .build();
  }

  /**
   * Runs one call.
   *
   * @param arguments the call's arguments, possibly null
   * @param known the argument names the tool takes ({@link #argumentNames()})
   * @return the result: the handler's output, or a tool error
   */
  CallToolResult call(Map<String, Object> arguments, Set<String> known) {
    try {
      Object out = handler.call(new McpArgs(name, arguments, known));
      String text = out instanceof JsonNode node ? Json.write(node) : String.valueOf(out);
      return CallToolResult.builder().addTextContent(text).isError(false).build();
    } catch (Exception e) {
      return CallToolResult.builder().addTextContent(ToolErrors.message(name, e)).isError(true).build();
    }
  }
}
