package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.StorageException;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Storage;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server starts its event hub before it accepts connections (found in review: Jetty started first, so a stream
 * accepted before the hub had its position waited for the next event or keep-alive), and a hub that cannot start
 * leaves no port open: before, Jetty kept serving after {@code start} threw.
 */
class ServerStartOrderTest {
  @TempDir
  Path dir;

  @Test
  void aHubThatCannotStartLeavesNoPortOpenAndNoThreadRunning() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Storage files = FileStorage.open(dir);
    Storage failing = (Storage) Proxy.newProxyInstance(Storage.class.getClassLoader(), new Class<?>[] {Storage.class},
        (proxy, method, args) -> {
          if (method.getName().equals("lastEventId")) {
            throw new StorageException("the log cannot be read (test)");
          }
          try {
            return method.invoke(files, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
    try (OpenStore store = OpenStore.of(StoreSpec.parse("file:" + dir), failing)) {
      CollabServer server = new CollabServer(store, ServerConfig.builder().port(port).rateLimit(0, 1).build());
      assertThatThrownBy(server::start).isInstanceOf(StorageException.class)
          .hasMessageContaining("the log cannot be read (test)");

      assertThat(listening(port)).as("port %d still accepting after start failed", port).isFalse();
      assertThat(server.hub().clientCount()).isZero();
    }
  }

  private static boolean listening(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
      return true;
    } catch (IOException refused) {
      return false;
    }
  }
}
