package io.kyros.collab.app;

import java.nio.file.Path;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** A fresh server on a temporary file store per test, and a client for it. */
abstract class ApiTestBase {
  @TempDir
  Path dir;
  TestServer server;
  Http http;

  /** @return changes to the test server's default configuration */
  UnaryOperator<ServerConfig.Builder> config() {
    return b -> b;
  }

  @BeforeEach
  void startServer() throws Exception {
    server = TestServer.start(dir, config());
    http = new Http(server.uri());
  }

  @AfterEach
  void stopServer() {
    server.close();
  }
}
