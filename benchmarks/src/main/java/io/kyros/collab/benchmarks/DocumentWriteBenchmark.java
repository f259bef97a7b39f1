package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.CanonicalJson;
import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.ETag;
import io.kyros.collab.file.FileStorage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * Durable, atomic document writes of about 1 KB on the file backend, with 1 and 16 writer threads, against the raw
 * floor of the same disk in the same run.
 *
 * <ul>
 *   <li>{@link Target#COLLAB_FILE}: each thread replaces its own document with {@code Documents.replace} and the
 *       ETag of its previous write (If-Match), so every operation reads, canonicalizes, hashes, checks the
 *       precondition and commits the document with its event, durably ({@code Durability.FSYNC}).
 *   <li>{@link Target#RAW_FLOOR}: plain Java, what any durable atomic file replacement costs at least: write the same
 *       bytes to a temp file, {@code force} it, rename it over the thread's file, {@code force} the directory. No
 *       JSON, no hashing, no event.
 * </ul>
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(1)
public class DocumentWriteBenchmark {

  /** What writes the documents. */
  public enum Target {
    /** Collab's file storage, durable. */
    COLLAB_FILE,
    /** Temp file, force, rename, force the directory, in plain Java. */
    RAW_FLOOR
  }

  /** The store (or directory) every writer thread shares. */
  @State(Scope.Benchmark)
  public static class Store {
    /** What writes the documents. */
    @Param
    public Target target;

    Path dir;
    Collab collab;
    final AtomicInteger threads = new AtomicInteger();

    /** Opens a fresh store or directory on the measured disk. */
    @Setup(Level.Trial)
    public void open() {
      dir = BenchDirs.fresh("doc-write");
      if (target == Target.COLLAB_FILE) {
        collab = Collab.builder().storage(FileStorage.open(dir)).holder("bench").build();
      }
    }

    /** Closes and deletes it. */
    @TearDown(Level.Trial)
    public void close() {
      if (collab != null) {
        collab.close();
      }
      BenchDirs.delete(dir);
    }
  }

  /** One writer thread's document. */
  @State(Scope.Thread)
  public static class Writer {
    String id;
    ObjectNode value;
    ETag etag;
    byte[] bytes;
    Path file;
    Path temp;
    long sequence;

    /**
     * Creates the thread's document.
     *
     * @param store the shared store
     * @throws IOException if the floor's directory cannot be written
     */
    @Setup(Level.Trial)
    public void create(Store store) throws IOException {
      id = "doc-" + store.threads.incrementAndGet();
      value = Payloads.document(1024);
      if (store.target == Target.COLLAB_FILE) {
        etag = store.collab.documents().create("docs", id, value).etag();
      } else {
        bytes = CanonicalJson.canonicalBytes(value);
        file = store.dir.resolve(id + ".json");
        temp = store.dir.resolve("." + id + ".json.tmp");
        Files.write(file, bytes);
      }
    }
  }

  /**
   * @param store the shared store
   * @param writer this thread's document
   * @return the new ETag (or the floor's file size)
   * @throws IOException if the floor's file cannot be written
   */
  @Benchmark
  @Threads(1)
  public Object oneWriter(Store store, Writer writer) throws IOException {
    return write(store, writer);
  }

  /**
   * @param store the shared store
   * @param writer this thread's document
   * @return the new ETag (or the floor's file size)
   * @throws IOException if the floor's file cannot be written
   */
  @Benchmark
  @Threads(16)
  public Object sixteenWriters(Store store, Writer writer) throws IOException {
    return write(store, writer);
  }

  private static Object write(Store store, Writer writer) throws IOException {
    if (store.target == Target.COLLAB_FILE) {
      writer.value.put("sequence", ++writer.sequence);
      Document written = store.collab.documents().replace("docs", writer.id, writer.value, writer.etag);
      writer.etag = written.etag();
      return writer.etag;
    }
    return rawWrite(store.dir, writer.temp, writer.file, writer.bytes);
  }

  /** Temp file, write, force, atomic rename, force the directory: the least a durable replacement costs. */
  static long rawWrite(Path dir, Path temp, Path file, byte[] bytes) throws IOException {
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
      channel.force(false);
    }
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
    try (FileChannel directory = FileChannel.open(dir, StandardOpenOption.READ)) {
      directory.force(true);
    }
    return bytes.length;
  }
}
