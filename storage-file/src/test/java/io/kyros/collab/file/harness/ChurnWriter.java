package io.kyros.collab.file.harness;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.file.FileStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * Child JVM for {@code CrossProcessReadTest}: waits for "go" on stdin, then replaces one document
 * {@code count} times with values of very different sizes (so a torn read could not go unnoticed)
 * and appends one event after each replacement, printing {@code wrote <seq> <eventId> <nanoTime>}
 * after each ({@link System#nanoTime()} is CLOCK_MONOTONIC on Linux, shared by all processes).
 *
 * <p>Arguments: store directory, count.
 */
public final class ChurnWriter {
  private ChurnWriter() {}

  /**
   * @param args store directory, count
   * @throws Exception on failure (the test reads stderr)
   */
  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int count = Integer.parseInt(args[1]);
    try (FileStorage storage = FileStorage.open(dir);
        Collab collab = Collab.builder().storage(storage).holder("churn").build()) {
      System.out.println("ready");
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      if (!"go".equals(in.readLine())) {
        throw new IllegalStateException("expected go");
      }
      Document doc = collab.documents().get("churn", "doc").orElseThrow();
      for (int seq = 1; seq <= count; seq++) {
        doc = collab.documents().replace("churn", "doc", value(seq), doc.etag());
        long id = collab.events().append("churned", "churn/doc", Map.of("seq", seq)).id();
        System.out.println("wrote " + seq + " " + id + " " + System.nanoTime());
        System.out.flush();
      }
    }
  }

  /**
   * @param seq the write's number
   * @return the value written: its number and a padding whose length depends on it
   */
  public static Map<String, Object> value(int seq) {
    return Map.of("seq", seq, "pad", "x".repeat(padLength(seq)));
  }

  /**
   * @param seq the write's number
   * @return the padding length of that write: alternating small and large (up to ~200 KB)
   */
  public static int padLength(int seq) {
    return seq % 2 == 0 ? 10 + seq : 200_000 - seq * 7;
  }
}
