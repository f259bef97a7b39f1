package io.kyros.collab.file.harness;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The child side of the acknowledgement channel: writes one line per acknowledged operation to the
 * process's stdout, unbuffered, as a single {@code write(2)} of the whole line including its
 * newline. A pipe write of at most {@code PIPE_BUF} (4096 on Linux) bytes is atomic, so a SIGKILL
 * can never leave half an ack line, and a line that was written was written after the operation it
 * reports had returned. Thread-safe.
 */
public final class AckOut {
  private static final FileOutputStream OUT = new FileOutputStream(FileDescriptor.out);

  private AckOut() {}

  /**
   * Writes one line; the caller has already seen the operation return.
   *
   * @param line the line, without newline, shorter than 4096 bytes
   */
  public static synchronized void line(String line) {
    byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
    if (bytes.length > 4000) {
      throw new IllegalArgumentException("ack line too long for an atomic pipe write: " + bytes.length);
    }
    try {
      OUT.write(bytes);
    } catch (IOException e) {
      // the parent is gone: nobody is left to read acknowledgements
      Runtime.getRuntime().halt(4);
    }
  }

  /**
   * Makes this JVM exit by itself when its parent dies or after {@code maxLifetimeMillis}, so a
   * killed test run never leaves a child behind.
   *
   * @param maxLifetimeMillis the longest the child may live
   */
  public static void dieWithParent(long maxLifetimeMillis) {
    ProcessHandle.current().parent().ifPresent(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(3)));
    Thread watchdog = new Thread(() -> {
      long deadline = System.nanoTime() + maxLifetimeMillis * 1_000_000L;
      Object never = new Object();
      synchronized (never) {
        long left;
        while ((left = deadline - System.nanoTime()) > 0) {
          try {
            never.wait(Math.max(1, left / 1_000_000L));
          } catch (InterruptedException e) {
            return;
          }
        }
      }
      System.err.println("child lived longer than " + maxLifetimeMillis + " ms: halting");
      Runtime.getRuntime().halt(5);
    }, "lifetime-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
  }
}
