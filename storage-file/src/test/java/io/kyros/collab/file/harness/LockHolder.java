package io.kyros.collab.file.harness;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Child JVM main for {@code SavedIndexTest}: another process holding a store's OS lock. Takes the lock of the file its
 * argument names (waiting for it), prints {@code locked}, and holds it until it reads {@code release} or its input
 * ends; then prints {@code released}.
 */
public final class LockHolder {
  private LockHolder() {}

  /**
   * @param args the lock file's path
   * @throws Exception if the file cannot be opened or locked
   */
  public static void main(String[] args) throws Exception {
    AckOut.dieWithParent(180_000);
    try (FileChannel channel = FileChannel.open(Path.of(args[0]), StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock = channel.lock()) {
      AckOut.line("locked");
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null && !line.equals("release"); ) {
        // hold
      }
    }
    AckOut.line("released");
  }
}
