package io.kyros.collab.file;

import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.conformance.StorageModelProperties;
import io.kyros.collab.spi.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The file backend against the model-based properties. Each try opens a fresh directory; the
 * journal is not forced ({@link FileStorage.Durability#NONE}) so that the tries stay quick: the
 * logic under test is the same, and durability is covered by the conformance and crash tests.
 */
class FileStorageModelProperties extends StorageModelProperties {
  @Override
  protected Storage createStorage(MutableClock clock) throws IOException {
    Path dir = Files.createTempDirectory("collab-model");
    return FileStorage.builder(dir).clock(clock).durability(FileStorage.Durability.NONE).open();
  }

  @Override
  protected void destroyStorage(Storage storage) throws IOException {
    Path root = ((FileStorage) storage).root();
    storage.close();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : (Iterable<Path>) files.sorted(Comparator.reverseOrder())::iterator) {
        Files.delete(p);
      }
    }
  }
}
