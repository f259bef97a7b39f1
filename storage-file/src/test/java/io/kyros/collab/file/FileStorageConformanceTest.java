package io.kyros.collab.file;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageConformanceTest;
import io.kyros.collab.spi.Storage;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The file backend, durable (fsync) as by default, against the whole conformance suite. */
class FileStorageConformanceTest extends StorageConformanceTest {
  @TempDir
  Path dir;

  @Override
  protected Storage createStorage(MutableClock clock) {
    return FileStorage.builder(dir.resolve("store")).clock(clock).open();
  }
}
