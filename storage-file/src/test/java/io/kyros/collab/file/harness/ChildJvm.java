package io.kyros.collab.file.harness;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A child JVM started by a test: the test classpath, a harness main class, stdout collected line by
 * line (only complete lines, ending in a newline, count), stderr redirected to a file. Every wait
 * is bounded; {@link #close()} kills the process if it is still alive and waits for it.
 *
 * <p>Thread-safe.
 */
public final class ChildJvm implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Path stderr;
  private final List<String> lines = new ArrayList<>();
  private final Thread reader;
  private boolean eof;

  private ChildJvm(String name, Process process, Path stderr) {
    this.name = name;
    this.process = process;
    this.stderr = stderr;
    this.reader = new Thread(this::readStdout, "stdout-" + name);
    this.reader.setDaemon(true);
    this.reader.start();
  }

  /**
   * Starts a child JVM.
   *
   * @param name a name for messages
   * @param main the main class (in the test classpath)
   * @param stderr where the child's stderr goes (appended)
   * @param args the main class's arguments
   * @return the running child
   * @throws IOException if the process cannot be started
   */
  public static ChildJvm start(String name, Class<?> main, Path stderr, List<String> args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(javaBinary());
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    command.add("-cp");
    command.add(classpath());
    command.add(main.getName());
    command.addAll(args);
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.redirectError(ProcessBuilder.Redirect.appendTo(stderr.toFile()));
    return new ChildJvm(name, pb.start(), stderr);
  }

  /** @return the java binary running this JVM */
  static String javaBinary() {
    return ProcessHandle.current().info().command()
        .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }

  /**
   * The test classpath. Surefire may run tests from a manifest-only jar whose {@code Class-Path}
   * names the real entries; {@code java -cp thatJar} resolves it the same way, so
   * {@code java.class.path} works either way. Surefire's own {@code surefire.test.class.path}, when
   * set, is the explicit list and is preferred.
   */
  static String classpath() {
    String explicit = System.getProperty("surefire.test.class.path");
    return explicit != null && !explicit.isBlank() ? explicit : System.getProperty("java.class.path");
  }

  private void readStdout() {
    byte[] buf = new byte[8192];
    java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();
    try (InputStream in = process.getInputStream()) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        for (int i = 0; i < n; i++) {
          if (buf[i] == '\n') {
            String line = pending.toString(StandardCharsets.UTF_8);
            pending.reset();
            synchronized (this) {
              lines.add(line);
              notifyAll();
            }
          } else {
            pending.write(buf[i]);
          }
        }
      }
    } catch (IOException e) {
      // the stream closes when the process dies; what was read before stands
    } finally {
      // a trailing fragment without newline (in `pending`) is not an acknowledgement
      synchronized (this) {
        eof = true;
        notifyAll();
      }
    }
  }

  /**
   * Waits until a line matching {@code p} has been printed.
   *
   * @param p the condition
   * @param timeout the longest wait
   * @return true if such a line arrived, false on timeout or if stdout closed without one
   * @throws InterruptedException if interrupted
   */
  public synchronized boolean awaitLine(Predicate<String> p, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int checked = 0;
    while (true) {
      for (; checked < lines.size(); checked++) {
        if (p.test(lines.get(checked))) {
          return true;
        }
      }
      long left = deadline - System.nanoTime();
      if (eof || left <= 0) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /**
   * Waits until stdout reached end of file (the process and every holder of the pipe are gone).
   *
   * @param timeout the longest wait
   * @return true if it did
   * @throws InterruptedException if interrupted
   */
  public synchronized boolean awaitEof(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!eof) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return true;
  }

  /** @return a copy of the complete lines printed so far */
  public synchronized List<String> lines() {
    return new ArrayList<>(lines);
  }

  /**
   * Writes a line to the child's stdin.
   *
   * @param line the line
   * @throws IOException if the child is gone
   */
  public void send(String line) throws IOException {
    OutputStream in = process.getOutputStream();
    in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    in.flush();
  }

  /**
   * Waits for the process to exit.
   *
   * @param timeout the longest wait
   * @return true if it exited
   * @throws InterruptedException if interrupted
   */
  public boolean waitFor(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Kills the child with SIGKILL ({@link Process#destroyForcibly()} on Linux) and waits until it is
   * gone and its stdout is drained.
   *
   * @throws InterruptedException if interrupted
   * @throws IllegalStateException if it does not die within 30 seconds
   */
  public void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException(name + " (pid " + process.pid() + ") survived SIGKILL for 30 s");
    }
    awaitEof(Duration.ofSeconds(30));
  }

  /** @return true if the process is still running */
  public boolean isAlive() {
    return process.isAlive();
  }

  /** @return the exit value; only after the process ended */
  public int exitValue() {
    return process.exitValue();
  }

  /** @return the process id */
  public long pid() {
    return process.pid();
  }

  /** @return the child's name */
  public String name() {
    return name;
  }

  /** @return the stderr file's content (the last 20,000 characters), for failure messages */
  public String stderr() {
    try {
      String s = Files.readString(stderr, StandardCharsets.UTF_8);
      return s.length() > 20_000 ? "..." + s.substring(s.length() - 20_000) : s;
    } catch (IOException e) {
      return "(cannot read " + stderr + ": " + e + ")";
    }
  }

  /** @return a description for failure messages: name, pid, exit state and stderr */
  public String describe() {
    String state = process.isAlive() ? "alive" : "exit " + process.exitValue();
    return name + " (pid " + process.pid() + ", " + state + ", stderr " + stderr + "):\n" + stderr();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
    process.waitFor(30, TimeUnit.SECONDS);
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // already closed
    }
    reader.join(TimeUnit.SECONDS.toMillis(30));
  }
}
