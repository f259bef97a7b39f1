package io.kyros.collab.app;

import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Storage;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.util.function.UnaryOperator;

/**
 * A {@link CollabServer} on a fresh file store in a test's temporary directory, on a free port of
 * 127.0.0.1, for tests over real HTTP (the API's, the console's browser tests, the CLI's
 * {@code --server} mode). Close it after the test.
 */
final class TestServer implements AutoCloseable {
  final OpenStore store;
  final CollabServer server;
  final ServerConfig config;

  private TestServer(OpenStore store, ServerConfig config) throws Exception {
    this.store = store;
    this.config = config;
    this.server = new CollabServer(store, config);
    server.start();
  }

  /**
   * @param dir the store's directory (a {@code @TempDir})
   * @return a started server with the default configuration (no keys, conditional writes only)
   */
  static TestServer start(Path dir) throws Exception {
    return start(dir, b -> b);
  }

  /**
   * @param dir the store's directory
   * @param config changes to the default configuration (port 0 is set first)
   * @return a started server
   */
  static TestServer start(Path dir, UnaryOperator<ServerConfig.Builder> config) throws Exception {
    return start(OpenStore.open(StoreSpec.parse("file:" + dir), null, null), config);
  }

  /**
   * @param dir the store's directory
   * @param clock the file store's clock (a test's {@code MutableClock}: lease expiry without waiting)
   * @param config changes to the default configuration (port 0 is set first)
   * @return a started server
   */
  static TestServer start(Path dir, Clock clock, UnaryOperator<ServerConfig.Builder> config) throws Exception {
    return start(OpenStore.of(StoreSpec.parse("file:" + dir), FileStorage.builder(dir).clock(clock).open()), config);
  }

  /**
   * @param dir the store's directory
   * @param wrap wraps the file storage the server uses (a test's fault injection)
   * @param config changes to the default configuration (port 0 is set first)
   * @return a started server
   */
  static TestServer start(Path dir, UnaryOperator<Storage> wrap, UnaryOperator<ServerConfig.Builder> config)
      throws Exception {
    return start(OpenStore.of(StoreSpec.parse("file:" + dir), wrap.apply(FileStorage.open(dir))), config);
  }

  private static TestServer start(OpenStore store, UnaryOperator<ServerConfig.Builder> config) throws Exception {
    try {
      return new TestServer(store, config.apply(ServerConfig.builder().port(0).rateLimit(0, 1)).build());
    } catch (Exception | Error e) {
      store.close();
      throw e;
    }
  }

  URI uri() {
    return server.uri();
  }

  URI uri(String pathAndQuery) {
    return URI.create(server.uri() + pathAndQuery);
  }

  @Override
  public void close() {
    server.close();
    store.close();
  }
}
