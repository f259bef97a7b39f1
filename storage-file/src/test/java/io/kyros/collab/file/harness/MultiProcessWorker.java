package io.kyros.collab.file.harness;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.Event;
import io.kyros.collab.Lease;
import io.kyros.collab.file.FileStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * A child JVM of {@code MultiProcessTest}. Opens the shared store, prints {@code ready}, waits for
 * {@code go} on stdin (so that all children start together), then interleaves, in a seeded random
 * order:
 * <ul>
 *   <li>{@code increments} read-modify-write increments of {@code mp/counter} (ack {@code doc mp counter <etag>});</li>
 *   <li>{@code rounds} acquisitions of the lease {@value #LOCK}, each followed by two guarded
 *       updates of {@code mp/guarded} and a release (acks {@code lease}, {@code doc mp guarded <etag> <fence>},
 *       {@code release}, and {@code hold <fence> <leaseId> <acquiredNanos> <releasingNanos> <released>}
 *       with {@link System#nanoTime()} just after the acquisition returned and just before the
 *       release was called: on Linux that clock is CLOCK_MONOTONIC, shared by all processes, so
 *       the intervals of successive holders must not overlap);</li>
 *   <li>{@code appends} appends of {@code mp.append} events with details {@code {child, seq}}
 *       (ack {@code event <id> mp.append <target> <details>}).</li>
 * </ul>
 * Prints {@code done} and exits 0; any exception fails the child (exit 1, stack trace on stderr).
 *
 * <p>Arguments: store directory, child name, increments, rounds, appends, seed.
 */
public final class MultiProcessWorker {
  /** The contended lease. */
  public static final String LOCK = "mp-lock";
  /** The lease's ttl: long enough that a holder on a loaded machine keeps it. */
  static final Duration TTL = Duration.ofSeconds(10);

  private MultiProcessWorker() {}

  /**
   * @param args store directory, child name, increments, rounds, appends, seed
   * @throws Exception on any failure
   */
  public static void main(String[] args) throws Exception {
    AckOut.dieWithParent(180_000);
    Path dir = Path.of(args[0]);
    String name = args[1];
    int increments = Integer.parseInt(args[2]);
    int rounds = Integer.parseInt(args[3]);
    int appends = Integer.parseInt(args[4]);
    Random random = new Random(Long.parseLong(args[5]));
    try (FileStorage storage = FileStorage.open(dir);
        Collab collab = Collab.builder().storage(storage).holder(name).updateTimeout(Duration.ofSeconds(60)).build()) {
      AckOut.line("ready");
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String go = in.readLine();
      if (!"go".equals(go)) {
        throw new IllegalStateException("expected go on stdin, got " + go);
      }
      int seq = 0;
      while (increments + rounds + appends > 0) {
        int pick = random.nextInt(increments + rounds + appends);
        if (pick < increments) {
          increments--;
          Document d = collab.documents().update("mp", "counter", v -> v.put("n", v.path("n").asLong() + 1));
          AckOut.line("doc mp counter " + d.etag().tag());
        } else if (pick < increments + rounds) {
          Optional<Lease> got = collab.leases().acquire(LOCK, TTL, Duration.ofMillis(50 + random.nextInt(200)));
          if (got.isEmpty()) {
            continue; // try again later; the round is not used up
          }
          rounds--;
          Lease lease = got.get();
          long acquiredNanos = System.nanoTime();
          AckOut.line("lease " + LOCK + " " + lease.fence() + " " + lease.leaseId());
          for (int i = 0; i < 2; i++) {
            long fence = lease.fence();
            Document d = collab.documents().guardedBy(lease).update("mp", "guarded", v -> {
              if (v.path("fence").asLong() > fence) {
                throw new IllegalStateException(name + " holding fence " + fence + " saw a newer fence: " + v);
              }
              return v.put("fence", fence).put("holder", name).put("writes", v.path("writes").asLong() + 1);
            });
            AckOut.line("doc mp guarded " + d.etag().tag() + " " + fence);
          }
          long releasingNanos = System.nanoTime();
          boolean released = collab.leases().release(lease);
          if (released) {
            AckOut.line("release " + LOCK + " " + lease.leaseId());
          }
          AckOut.line("hold " + lease.fence() + " " + lease.leaseId() + " " + acquiredNanos + " " + releasingNanos
              + " " + released);
        } else {
          appends--;
          Event e = collab.events().append("mp.append", "children/" + name, Map.of("child", name, "seq", ++seq));
          AckOut.line("event " + e.id() + " " + e.type() + " " + e.target() + " " + e.details());
        }
      }
      AckOut.line("done");
    }
  }
}
