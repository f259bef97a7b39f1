package io.kyros.collab.samples;

import io.kyros.collab.Batch;
import io.kyros.collab.BatchItem;
import io.kyros.collab.BatchPolicy;
import io.kyros.collab.BatchProgress;
import io.kyros.collab.BatchSpec;
import io.kyros.collab.Collab;
import io.kyros.collab.Outcome;
import io.kyros.collab.RetryPolicy;
import io.kyros.collab.Subscription;
import io.kyros.collab.WorkerPool;
import io.kyros.collab.file.FileStorage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A batch sample: {@value #DOCUMENTS} documents are converted by a worker pool of 8 threads, at most 4 at a time
 * (the batch's concurrency, kept by the store), once under each failure policy. Document {@code doc-7} is corrupt:
 * under {@code continue-on-failure} the rest run and the batch ends {@code completed_with_failures}; under
 * {@code abort-all} its failure cancels what was not claimed yet; under {@code retry-failed} it is tried again (and
 * fails its first attempt only, so the batch ends {@code completed}). A final step writes a summary document. The
 * progress of each batch is printed live from its subscription.
 *
 * <p>Run it with {@code ./mvnw -q -DskipTests -pl samples -am package exec:java
 * -Dexec.mainClass=io.kyros.collab.samples.BatchOfDocuments}.
 */
public final class BatchOfDocuments {
  private static final int DOCUMENTS = 12;

  private BatchOfDocuments() {}

  /**
   * Runs the sample.
   *
   * @param args optionally, the store directory (default: a new temporary directory)
   * @throws Exception if it fails
   */
  public static void main(String[] args) throws Exception {
    Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("collab-batches");
    try (FileStorage storage = FileStorage.open(dir);
        Collab collab = Collab.builder().storage(storage).holder("converter").build();
        WorkerPool pool = WorkerPool.builder(collab).agentId("converter").concurrency(8)
            .retryPolicy(RetryPolicy.builder().backoff(Duration.ofMillis(20), Duration.ofMillis(200)).build())
            .handler("convert", ctx -> {
              String doc = ctx.task().description();
              if (doc.equals("doc-7") && (ctx.attempt() == 1 || !ctx.batchId().orElseThrow().startsWith("retry"))) {
                throw new IllegalStateException(doc + " is corrupt");
              }
              collab.documents().put("converted", ctx.batchId().orElseThrow() + "-" + doc,
                  Map.of("source", doc, "pages", doc.length()), io.kyros.collab.Preconditions.none());
              return Outcome.done();
            })
            .handler("summarize", ctx -> {
              Batch b = collab.batches().get(ctx.task().description()).orElseThrow();
              collab.documents().put("summaries", b.id(), Map.of("state", b.state().wireName(),
                  "succeeded", b.progress().succeeded(), "failed", b.progress().failed()),
                  io.kyros.collab.Preconditions.none());
              return Outcome.done();
            }).start()) {
      System.out.println("# " + DOCUMENTS + " documents, converted by " + pool.concurrency() + " threads of agent "
          + pool.agentId() + ", at most 4 at a time per batch; store " + dir + "\n");
      List<BatchItem> items = new ArrayList<>();
      for (int i = 1; i <= DOCUMENTS; i++) {
        items.add(BatchItem.of("doc-" + i, "doc-" + i));
      }
      for (BatchPolicy policy : List.of(BatchPolicy.continueOnFailure(), BatchPolicy.abortAll(),
          BatchPolicy.retryFailed(2))) {
        String id = policy.kind().wireName().replace("-on-failure", "").replace("-all", "").replace("-failed", "");
        CompletableFuture<BatchProgress> finished = new CompletableFuture<>();
        Subscription live = collab.batches().subscribe(id, collab.events().lastId(), e -> {
          if (e.type().equals("batch_progress")) {
            BatchProgress p = BatchProgress.of(e);
            System.out.printf("%-9s %3d%%  queued %2d  running %d  succeeded %2d  failed %d  cancelled %2d  (%s)%n",
                id, p.percent(), p.queued(), p.running(), p.succeeded(), p.failed(), p.cancelled(),
                e.details().path("state").asText());
            if (p.isFinished()) {
              finished.complete(p);
            }
          }
        });
        try {
          collab.batches().submit(BatchSpec.builder("convert").id(id).items(items).concurrency(4).policy(policy)
              .finalStep("summarize").build());
          finished.get(2, TimeUnit.MINUTES);
        } finally {
          live.close();
        }
        System.out.println("batch " + id + " (" + policy.kind().wireName() + ") ended "
            + collab.batches().get(id).orElseThrow().state().wireName() + "\n");
      }
    }
  }
}
