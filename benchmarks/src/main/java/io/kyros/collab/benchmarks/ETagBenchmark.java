package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.CanonicalJson;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ETag computation: RFC 8785 canonical JSON plus SHA-256 of a document of the given size. Run with
 * {@code -prof gc} for allocation per operation (the suite's runner adds it). Every document write pays this once;
 * there is no peer to compare with, so it is reported as is.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ETagBenchmark {

  /** Approximate size of the document's canonical JSON, in bytes. */
  @Param({"1024", "65536"})
  public int size;

  private ObjectNode document;

  /** Builds a document of mixed strings, numbers and nested objects of about {@link #size} bytes. */
  @Setup
  public void setUp() {
    document = Payloads.document(size);
  }

  /**
   * @return the content hash, as an ETag would carry it
   */
  @Benchmark
  public String canonicalJsonAndSha256() {
    return CanonicalJson.hash(document);
  }
}
