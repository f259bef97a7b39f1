package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Timeout;

/** Several nodes starting at once each call {@code createSchema()}: every call succeeds and the store works. */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class ConcurrentSchemaTest {
  private static final int THREADS = 4;

  @ParameterizedTest
  @EnumSource(value = TestDatabase.Kind.class, names = {"POSTGRESQL", "MARIADB"})
  void concurrentCreateSchemaCallsAllSucceed(TestDatabase.Kind kind) throws Exception {
    try (TestDatabase db = TestDatabase.open(kind, "cschema_", THREADS * 2, c -> {})) {
      for (int round = 0; round < 10; round++) {
        db.dropTables();
        CountDownLatch start = new CountDownLatch(1);
        List<CompletableFuture<Void>> calls = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
          calls.add(CompletableFuture.runAsync(() -> {
            try {
              start.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IllegalStateException(e);
            }
            try (JdbcStorage storage = db.builder().build()) {
              storage.createSchema();
            }
          }, r -> new Thread(r, "createSchema").start()));
        }
        start.countDown();
        CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        try (JdbcStorage storage = db.builder().build()) {
          assertThat(storage.lastEventId()).isZero();
        }
      }
    }
  }
}
