package io.kyros.collab.file.harness;

import io.kyros.collab.Collab;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.file.FileStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * A child JVM of {@code MultiProcessTest}'s claim test: opens the shared store, prints {@code ready},
 * waits for {@code go}, then claims the best queued task with {@code Tasks.claimNext} and completes it,
 * until nothing is claimable, printing {@code claimed <task id> <fence>} and {@code completed <task id>}
 * after each call returns, then {@code done}. Any exception fails the child (exit 1, stack trace on
 * stderr).
 *
 * <p>Arguments: store directory, worker name.
 */
public final class ClaimWorker {
  /** Long enough that no claim goes stale on a loaded machine: every claim must end in its completion. */
  static final Duration TTL = Duration.ofMinutes(2);

  private ClaimWorker() {}

  /**
   * @param args store directory, worker name
   * @throws Exception on any failure
   */
  public static void main(String[] args) throws Exception {
    AckOut.dieWithParent(180_000);
    String name = args[1];
    try (FileStorage storage = FileStorage.open(Path.of(args[0]));
        Collab collab = Collab.builder().storage(storage).holder(name).updateTimeout(Duration.ofSeconds(60)).build()) {
      AckOut.line("ready");
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      if (!"go".equals(in.readLine())) {
        throw new IllegalStateException("expected go");
      }
      for (Optional<TaskClaim> c; (c = collab.tasks().claimNext(TTL)).isPresent(); ) {
        TaskClaim claim = c.get();
        AckOut.line("claimed " + claim.task().id() + " " + claim.lease().fence());
        Task done = collab.tasks().complete(claim);
        AckOut.line("completed " + done.id());
      }
      AckOut.line("done");
    }
  }
}
