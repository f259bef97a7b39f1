package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.IndexWriter;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file store's index follows other processes' commits (design.md invariant 6): a child JVM
 * ({@link IndexWriter}) commits records with index entries, and every scan in this JVM made after the
 * child acknowledged a command returns its effect, with no wait and no poll: first through the journal
 * (the index is built once and never again), then, with a child that takes a checkpoint every few
 * commits (so the journal this JVM would read from is emptied), by building the index again. Each
 * phase ends with {@link IndexAudit}: the index equals a full scan of the documents.
 */
class FileIndexProcessTest {
  private static final Duration STEP = Duration.ofSeconds(60);

  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path tmp;

  private static List<String> ids(FileStorage s, String index) {
    List<String> out = new ArrayList<>();
    IndexQuery q = IndexQuery.first("ix", index, 8);
    for (List<IndexHit> page = s.scanIndex(q); !page.isEmpty(); page = s.scanIndex(q)) {
      page.forEach(h -> out.add(h.record().key().id()));
      q = q.after(page.get(page.size() - 1));
    }
    return out;
  }

  private static void run(ChildJvm child, String command) throws Exception {
    child.send(command);
    assertThat(child.awaitLine(("done " + command)::equals, STEP)).as("%s:\n%s", command, child.describe()).isTrue();
  }

  private static void ownCommit(FileStorage s, String id) {
    CommitResult r = s.commit(Commit.of(List.of(), List.of(Write.put(new RecordKey("ix", id), "{}", "h",
        List.of(new IndexEntry("all", "own-" + id)))), List.of(new NewEvent("ix.own", "parent", "ix/" + id, "{}"))));
    assertThat(r).isInstanceOf(CommitResult.Committed.class);
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void scansSeeAnotherProcesssCommitsThroughTheJournal() throws Exception {
    Path dir = tmp.resolve("store");
    try (FileStorage s = FileStorage.open(dir);
        ChildJvm child = ChildJvm.start("index-writer", IndexWriter.class, tmp.resolve("writer.err"),
            List.of(dir.toString(), "default"))) {
      assertThat(child.awaitLine("ready"::equals, STEP)).as(child.describe()).isTrue();
      assertThat(ids(s, "all")).isEmpty(); // builds the index
      run(child, "put a 0 20 k");
      assertThat(ids(s, "all")).hasSize(20).startsWith("a-0", "a-1", "a-2").endsWith("a-19");
      assertThat(ids(s, "by-prefix")).hasSize(20);
      run(child, "del a 0 5");
      ownCommit(s, "p1"); // this JVM's batch catches up with the child's deletes first
      assertThat(ids(s, "all")).hasSize(16).startsWith("a-5").endsWith("p1");
      run(child, "put a 5 10 z"); // re-keyed to the end
      run(child, "bare a 10 12"); // entries removed
      assertThat(ids(s, "all")).containsExactly("a-12", "a-13", "a-14", "a-15", "a-16", "a-17", "a-18", "a-19",
          "p1", "a-5", "a-6", "a-7", "a-8", "a-9");
      assertThat(s.store().indexBuilds()).as("followed through the journal, never built again").isEqualTo(1);
      run(child, "put b 0 3 k");
      assertThat(IndexAudit.audit(s)).isEmpty();
      child.send("quit");
      assertThat(child.waitFor(STEP)).isTrue();
    }
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void anIndexWhoseJournalAnotherProcessCheckpointedAwayIsBuiltAgain() throws Exception {
    Path dir = tmp.resolve("store");
    try (FileStorage s = FileStorage.open(dir);
        ChildJvm child = ChildJvm.start("index-writer", IndexWriter.class, tmp.resolve("writer.err"),
            List.of(dir.toString(), "4096"))) {
      assertThat(child.awaitLine("ready"::equals, STEP)).as(child.describe()).isTrue();
      ownCommit(s, "p0");
      assertThat(ids(s, "all")).containsExactly("p0");
      run(child, "put a 0 60 k"); // ~15 checkpoints of the child's
      assertThat(ids(s, "all")).hasSize(61).startsWith("a-0").endsWith("a-59", "p0");
      assertThat(s.store().indexBuilds()).isGreaterThanOrEqualTo(2);
      run(child, "del a 0 60");
      ownCommit(s, "p1");
      assertThat(ids(s, "all")).containsExactly("p0", "p1");
      assertThat(IndexAudit.audit(s)).isEmpty();
      child.send("quit");
      assertThat(child.waitFor(STEP)).isTrue();
    }
  }
}
