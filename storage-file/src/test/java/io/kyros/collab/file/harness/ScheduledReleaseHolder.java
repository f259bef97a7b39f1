package io.kyros.collab.file.harness;

import io.kyros.collab.Collab;
import io.kyros.collab.Lease;
import io.kyros.collab.file.FileStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * A child JVM of {@code ScheduledReleaseProcessTest}: the holder of a lease that schedules its release and then
 * dies. Opens the store on a clock fixed at the given instant (the parent's test clock reads the same), acquires
 * {@link #RESOURCE} with a ttl of {@link #TTL}, schedules its release at the given instant with
 * {@code Leases.releaseAt}, prints {@code scheduled <fence> <leaseId>} and waits on stdin, holding the store open,
 * until the parent kills it. Any exception fails the child (exit 1, stack trace on stderr).
 *
 * <p>Arguments: store directory, the clock's instant, the release instant (ISO-8601).
 */
public final class ScheduledReleaseHolder {
  /** The leased resource: a name of the kind only accepted since issue 13 (a path, a space, Cyrillic, "::"). */
  public static final String RESOURCE = "reports/отчёт 2026::nightly";
  /** The lease's ttl: shorter than the time to the scheduled release. */
  public static final Duration TTL = Duration.ofSeconds(30);

  private ScheduledReleaseHolder() {}

  /**
   * @param args store directory, the clock's instant, the release instant
   * @throws Exception on any failure
   */
  public static void main(String[] args) throws Exception {
    AckOut.dieWithParent(120_000);
    Path dir = Path.of(args[0]);
    Clock clock = Clock.fixed(Instant.parse(args[1]), ZoneOffset.UTC);
    Instant at = Instant.parse(args[2]);
    FileStorage storage = FileStorage.builder(dir).clock(clock).open();
    Collab collab = Collab.builder().storage(storage).holder("child").build();
    Lease lease = collab.leases().tryAcquire(RESOURCE, TTL).orElseThrow();
    if (!collab.leases().releaseAt(lease, at)) {
      throw new IllegalStateException("releaseAt refused a lease just acquired: " + lease);
    }
    AckOut.line("scheduled " + lease.fence() + " " + lease.leaseId());
    // hold everything open until killed: nothing of this process may end the lease
    new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
    throw new IllegalStateException("expected to be killed while holding the lease");
  }
}
