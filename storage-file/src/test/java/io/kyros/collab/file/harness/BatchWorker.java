package io.kyros.collab.file.harness;

import io.kyros.collab.Collab;
import io.kyros.collab.Outcome;
import io.kyros.collab.RetryPolicy;
import io.kyros.collab.WorkerPool;
import io.kyros.collab.file.FileStorage;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Child JVM for {@code BatchProcessTest}: runs a {@link WorkerPool} on a store whose handler for label {@code item}
 * writes the item's result document {@code results/<task id>} and completes it. It fails the item task named
 * {@code failOn} (an {@code IllegalStateException}), and on the item task named {@code hangOn} prints
 * {@code holding <task id>} and blocks until the JVM is killed (on its first attempt only, so the retry after the
 * reclaim finishes). Prints {@code ready} once the pool runs; on
 * {@code stop} or end of input it shuts the pool down and prints {@code done}.
 *
 * <p>Arguments: store directory, agent id, concurrency, claim ttl in ms, failOn (or {@code -}), hangOn (or {@code -}).
 */
public final class BatchWorker {
  private BatchWorker() {}

  /**
   * @param args see the class comment
   * @throws Exception on failure (the test reads stderr)
   */
  public static void main(String[] args) throws Exception {
    String failOn = args[4];
    String hangOn = args[5];
    try (FileStorage storage = FileStorage.open(Path.of(args[0]));
        Collab collab = Collab.builder().storage(storage).holder(args[1]).build()) {
      WorkerPool pool = WorkerPool.builder(collab).agentId(args[1]).concurrency(Integer.parseInt(args[2]))
          .claimTtl(Duration.ofMillis(Long.parseLong(args[3]))).idleRecheck(Duration.ofMillis(200))
          .retryPolicy(RetryPolicy.builder().backoff(Duration.ofMillis(10), Duration.ofMillis(50)).build())
          .handler("item", ctx -> {
            String id = ctx.task().id();
            if (id.equals(hangOn) && ctx.task().attempts() == 0) { // the first claim only: the retry must finish
              System.out.println("holding " + id);
              System.out.flush();
              new CountDownLatch(1).await(); // until SIGKILL
            }
            if (id.equals(failOn)) {
              throw new IllegalStateException("item " + id + " fails on purpose");
            }
            collab.documents().put("results", id, Map.of("payload", ctx.task().description(), "by", ctx.worker(),
                "fence", ctx.fence()), io.kyros.collab.Preconditions.none());
            return Outcome.done();
          }).start();
      System.out.println("ready");
      System.out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      for (String line; (line = in.readLine()) != null && !line.equals("stop"); ) {
        // only stop ends the run
      }
      pool.shutdown(Duration.ofSeconds(30));
      System.out.println("done");
      System.out.flush();
    }
  }
}
