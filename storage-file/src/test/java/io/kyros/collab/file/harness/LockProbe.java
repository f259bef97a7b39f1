package io.kyros.collab.file.harness;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Child JVM main for {@code CheckKeepsTheLockTest}: tries once, without waiting, to take the OS lock of the file its
 * argument names, and prints {@code got} (then lets it go) or {@code busy}.
 */
public final class LockProbe {
  private LockProbe() {}

  /**
   * @param args the lock file's path
   * @throws Exception if the file cannot be opened
   */
  public static void main(String[] args) throws Exception {
    try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      FileLock lock = channel.tryLock();
      System.out.println(lock == null ? "busy" : "got");
      if (lock != null) {
        lock.release();
      }
    }
  }
}
