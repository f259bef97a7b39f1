package io.kyros.collab.file.harness;

import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A child JVM of {@code FileIndexProcessTest}: commits records with index entries through the SPI on
 * command, so the parent can check that its own index follows another process's commits. Reads
 * commands from stdin, one per line, and answers each with {@code done <command>} once every commit
 * of it returned:
 * <pre>
 * put &lt;prefix&gt; &lt;from&gt; &lt;to&gt; &lt;key&gt;   one commit per i in [from, to): ix/&lt;prefix&gt;-&lt;i&gt; with entries
 *                                     {"all": "&lt;key&gt;-&lt;i, 6 digits&gt;", "by-prefix": "&lt;prefix&gt;"}
 * del &lt;prefix&gt; &lt;from&gt; &lt;to&gt;         one commit per i: deletes ix/&lt;prefix&gt;-&lt;i&gt;
 * bare &lt;prefix&gt; &lt;from&gt; &lt;to&gt;        one commit per i: ix/&lt;prefix&gt;-&lt;i&gt; without entries
 * quit
 * </pre>
 * Arguments: store directory, checkpoint bytes ({@code default} for the default).
 */
public final class IndexWriter {
  private IndexWriter() {}

  /**
   * @param args store directory, checkpoint bytes
   * @throws Exception on any failure (the test reads stderr)
   */
  public static void main(String[] args) throws Exception {
    AckOut.dieWithParent(180_000);
    FileStorage.Builder builder = FileStorage.builder(Path.of(args[0]));
    if (!args[1].equals("default")) {
      builder.checkpointBytes(Long.parseLong(args[1]));
    }
    try (FileStorage storage = builder.open()) {
      AckOut.line("ready");
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null && !line.equals("quit"); ) {
        String[] f = line.split(" ");
        for (int i = Integer.parseInt(f[2]); i < Integer.parseInt(f[3]); i++) {
          RecordKey key = new RecordKey("ix", f[1] + "-" + i);
          Write w = switch (f[0]) {
            case "put" -> Write.put(key, "{\"i\":" + i + "}", "h" + i, List.of(
                new IndexEntry("all", f[4] + "-" + String.format("%06d", i)), new IndexEntry("by-prefix", f[1])));
            case "bare" -> Write.put(key, "{\"i\":" + i + "}", "h" + i);
            case "del" -> Write.delete(key);
            default -> throw new IllegalArgumentException("unknown command: " + line);
          };
          CommitResult r = storage.commit(Commit.of(List.of(), List.of(w),
              List.of(new NewEvent("ix." + f[0], "index-writer", "ix/" + key.id(), "{}"))));
          if (!(r instanceof CommitResult.Committed)) {
            throw new IllegalStateException("commit did not apply: " + r);
          }
        }
        AckOut.line("done " + line);
      }
    }
  }
}
