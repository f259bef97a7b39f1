package io.kyros.collab.app;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.net.URI;
import picocli.CommandLine.Option;

/**
 * The options the commands for people and scripts share (a picocli mixin, next to
 * {@link StoreOptions}): {@code --server URL} to go through the HTTP API of {@code collab serve}
 * instead of opening the store, {@code --api-key} for it, {@code --json} for machine-readable
 * output (the HTTP API's JSON, one document per line), and {@code --as ACTOR}, the actor the
 * events of a direct write name (over HTTP the server names the API key's name).
 *
 * <p>Not thread-safe: picocli fills it once per command line.
 */
final class CliOptions {
  @Option(names = "--server", paramLabel = "URL",
      description = "Go through the HTTP API of 'collab serve' at URL instead of opening the store.")
  URI server;

  @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:COLLAB_API_KEY}",
      description = "API key for --server (default: $COLLAB_API_KEY).")
  String apiKey;

  @Option(names = "--json", description = "Print the HTTP API's JSON, one document per line.")
  boolean json;

  @Option(names = "--as", paramLabel = "ACTOR",
      description = "The actor named by the events of a write on the store (default: this process's holder).")
  String actor;

  /**
   * @param store the store options, used without --server
   * @return where the command's operations go; the caller closes it
   */
  CliBackend backend(StoreOptions store) {
    if (server != null) {
      return new HttpBackend(server, apiKey);
    }
    OpenStore open = store.open();
    try {
      return new StoreBackend(open, actor);
    } catch (RuntimeException e) { // an invalid --as: the store opened for it is closed, not left open
      open.close();
      throw e;
    }
  }

  /** Prints {@code node} as one JSON line with --json, else {@code human}. */
  void print(PrintWriter out, JsonNode node, String human) {
    out.println(json ? Json.write(node) : human);
    out.flush();
  }
}
