package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.CanonicalJson;
import io.kyros.collab.Collab;
import io.kyros.collab.ETag;
import io.kyros.collab.Preconditions;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.Write;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Whether durable document writes slow down as a collection grows: one thread replaces a random document of a
 * collection of {@link #documents} documents of about 1 KB on the file backend ({@code Durability.FSYNC}), with
 * {@code Documents.put} and no precondition, so each operation reads the current document, canonicalizes and
 * hashes the new value, and commits it with its {@code document_replaced} event (one journal {@code fsync}, one
 * temporary file renamed over the document, checkpoints as the journal fills).
 *
 * <p>Both sizes are built the same way, straight through the storage SPI in commits of 1,000 documents each with
 * its {@code document_created} event, on a {@code Durability.NONE} storage (see {@link BulkStore}), then reopened
 * with the default durable options for the measurement, on the same disk. The 100,000-document store is cached
 * under {@link BenchDirs#root()} ({@code scale-100000-v1}) and reused by later runs (its documents keep their
 * count; the log grows by the writes measured); smaller ones are built fresh for each trial and deleted after.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
@Threads(1)
@State(Scope.Benchmark)
public class ScaleBenchmark {
  /** The collection every document is in. */
  static final String COLLECTION = "docs";
  /** Collections at least this large are cached between runs. */
  private static final int CACHE_FROM = 10_000;
  private static final int PER_COMMIT = 1_000;

  /** How many documents the collection holds. */
  @Param({"10", "100000"})
  public int documents;

  private Path dir;
  private boolean fresh;
  private FileStorage storage;
  private Collab collab;
  private ObjectNode value;
  private long sequence;
  private final SplittableRandom random = new SplittableRandom(42);

  /** Builds (or reuses) the collection and opens it durably. */
  @Setup(Level.Trial)
  public void open() {
    if (documents >= CACHE_FROM) {
      dir = BulkStore.cached("scale-" + documents + "-v1", s -> fill(s, documents));
    } else {
      dir = BenchDirs.fresh("scale-" + documents);
      fresh = true;
      BulkStore.build(dir, s -> fill(s, documents));
    }
    storage = FileStorage.open(dir);
    if (storage.read(key(documents - 1)).isEmpty() || storage.read(key(documents)).isPresent()) {
      throw new IllegalStateException(dir + " does not hold exactly the documents doc-0 .. doc-" + (documents - 1));
    }
    collab = Collab.builder().storage(storage).holder("bench").build();
    value = Payloads.document(1024);
  }

  /** Closes the store; deletes it unless it is the cached one. */
  @TearDown(Level.Trial)
  public void close() {
    collab.close();
    storage.close();
    if (fresh) {
      BenchDirs.delete(dir);
    }
  }

  /**
   * Replaces a random document of the collection with a new value.
   *
   * @return the new ETag
   */
  @Benchmark
  public ETag writeDocument() {
    value.put("sequence", ++sequence);
    return collab.documents().put(COLLECTION, id(random.nextInt(documents)), value, Preconditions.none()).etag();
  }

  /**
   * Fills an empty store with {@code count} documents {@code doc-0 ..}, each with the {@code document_created} event
   * core would record.
   */
  static void fill(Storage storage, int count) {
    ObjectNode document = Payloads.document(1024);
    String json = CanonicalJson.canonicalize(document);
    String hash = CanonicalJson.hash(document);
    BulkStore.load(storage, "documents", count, PER_COMMIT, (first, n) -> {
      List<Write> writes = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        writes.add(Write.put(key(first + i), json, hash));
      }
      return new Commit(List.of(), writes, revisions -> {
        List<NewEvent> events = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          RecordKey key = writes.get(i).key();
          ObjectNode details = document.objectNode().put("collection", key.collection()).put("id", key.id())
              .put("etag", ETag.strong(revisions.get(i) + "-" + hash).toString()).put("revision", revisions.get(i));
          events.add(new NewEvent("document_created", "bench", "documents/" + key.collection() + "/" + key.id(),
              CanonicalJson.canonicalize(details)));
        }
        return events;
      });
    });
  }

  private static RecordKey key(long index) {
    return new RecordKey(COLLECTION, id(index));
  }

  private static String id(long index) {
    return "doc-" + index;
  }
}
