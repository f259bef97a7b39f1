package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Races of the agents routes: concurrent requests released together by a latch (no sleeps). Each round gives the
 * race a chance; 20 rounds of 4 requests make it practically certain (11 of 20 heartbeats lost it in a manual run).
 */
class AgentsRaceTest extends ApiTestBase {
  private static final int ROUNDS = 20;
  private static final int CONCURRENT = 4;

  /**
   * AgentsRoutes.heartbeat reads the presence lease, finds none, and joins; two first heartbeats of the same agent
   * both join, and the second's tryAcquire finds the lease the first just took: 409 "agent a is already online:
   * another holder has its presence lease", although the holder is that same agent. A heartbeat is a renewal by
   * its own agent; it must not fail because another heartbeat of the same agent came first.
   */
  @Test
  void concurrentHeartbeatsOfOneAgentAreNotA409() throws Exception {
    List<String> refused = new ArrayList<>();
    for (int round = 0; round < ROUNDS; round++) {
      String id = "agent-" + round;
      assertThat(http.post("/collab/agents", "{\"id\": \"" + id + "\", \"role\": \"builder\"}").statusCode())
          .isEqualTo(201);
      for (HttpResponse<String> r : together(() -> http.post("/collab/agents/" + id + "/heartbeat", "{}"))) {
        if (r.statusCode() != 200) {
          refused.add(r.statusCode() + " " + r.body());
        }
      }
    }
    assertThat(refused).as("heartbeats of an agent by itself, refused").isEmpty();
  }

  /**
   * AgentsRoutes.register decides 201 or 200 by a read before the register: concurrent registrations of one new
   * agent all read "unknown" and several answer 201 Created; one registration created it, the others updated it.
   */
  @Test
  void concurrentRegistrationsOfOneNewAgentAnswer201Once() throws Exception {
    List<String> wrong = new ArrayList<>();
    for (int round = 0; round < ROUNDS; round++) {
      String id = "new-" + round;
      long created = together(() -> http.post("/collab/agents", "{\"id\": \"" + id + "\", \"role\": \"r\"}"))
          .stream().filter(r -> r.statusCode() == 201).count();
      if (created != 1) {
        wrong.add(id + ": " + created + " answers 201");
      }
    }
    assertThat(wrong).as("rounds where not exactly one registration answered 201 Created").isEmpty();
  }

  private static List<HttpResponse<String>> together(Supplier<HttpResponse<String>> request) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CONCURRENT);
    try {
      CountDownLatch ready = new CountDownLatch(CONCURRENT);
      CountDownLatch go = new CountDownLatch(1);
      List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
      for (int i = 0; i < CONCURRENT; i++) {
        all.add(CompletableFuture.supplyAsync(() -> {
          ready.countDown();
          try {
            go.await();
          } catch (InterruptedException e) {
            throw new IllegalStateException(e);
          }
          return request.get();
        }, pool));
      }
      ready.await();
      go.countDown();
      List<HttpResponse<String>> out = new ArrayList<>();
      for (CompletableFuture<HttpResponse<String>> f : all) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }
}
