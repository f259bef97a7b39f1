package io.kyros.collab.file.harness;

import io.kyros.collab.Collab;
import io.kyros.collab.file.FileStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

/**
 * Child JVM for {@code CrossProcessReadTest}'s wake-up test: appends one event each time a line {@code next} arrives
 * on stdin and prints {@code wrote <eventId>}, so the parent hands over one event at a time; ends at end of input.
 *
 * <p>Arguments: store directory.
 */
public final class PingWriter {
  private PingWriter() {}

  /**
   * @param args store directory
   * @throws Exception on failure (the test reads stderr)
   */
  public static void main(String[] args) throws Exception {
    try (FileStorage storage = FileStorage.open(Path.of(args[0]));
        Collab collab = Collab.builder().storage(storage).holder("ping").build()) {
      System.out.println("ready");
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      int seq = 0;
      for (String line; (line = in.readLine()) != null; ) {
        if (!"next".equals(line)) {
          throw new IllegalStateException("expected next, got " + line);
        }
        long id = collab.events().append("ping", "ping", Map.of("seq", ++seq)).id();
        System.out.println("wrote " + id);
        System.out.flush();
      }
    }
  }
}
