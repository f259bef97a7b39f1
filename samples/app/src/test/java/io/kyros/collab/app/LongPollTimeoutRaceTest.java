package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.file.FileStorage;
import io.kyros.collab.spi.Storage;
import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A long poll whose wait ends (its timeout fires, or the hub closes it) just as its pump has found a matching event
 * answers {@code {data: [], last_id: <past that event>}}: the pump advanced the cursor over the event before deliver()
 * lost the race for markClosed(), and close() reports that cursor. The client resumes after last_id and never sees
 * the event.
 */
class LongPollTimeoutRaceTest {
  @TempDir
  Path dir;

  @Test
  void aLongPollEndingAsItsPumpFindsAMatchDoesNotSkipTheMatch() {
    assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
      // one event before the server starts: the hub's ring starts after it, so a poll from 0 reads the storage
      try (OpenStore pre = OpenStore.open(StoreSpec.parse("file:" + dir), null, null)) {
        pre.collab().events().append("other", "x/1", Map.of());
      }
      AtomicBoolean armed = new AtomicBoolean();
      CountDownLatch pumpReading = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      AtomicReference<Thread> pump = new AtomicReference<>();
      Storage storage = FileStorage.open(dir);
      Storage wrapped = (Storage) Proxy.newProxyInstance(Storage.class.getClassLoader(), new Class<?>[] {Storage.class},
          (proxy, method, args) -> {
            if (method.getName().equals("readEvents") && armed.get()
                && Thread.currentThread().getName().startsWith("collab-sse-")) {
              armed.set(false);
              pump.set(Thread.currentThread());
              pumpReading.countDown();
              release.await();
            }
            try {
              return method.invoke(storage, args);
            } catch (InvocationTargetException e) {
              throw e.getCause();
            }
          });
      try (TestServer server = TestServer.start(dir, s -> wrapped, b -> b)) {
        Http http = new Http(server.uri());
        armed.set(true);
        CompletableFuture<HttpResponse<String>> poll = CompletableFuture.supplyAsync(
            () -> http.get("/collab/events?after=0&type=wanted&wait=30"));
        pumpReading.await(); // the poll's pump is about to read the storage after 0
        HttpResponse<String> posted = http.post("/collab/events", "{\"event\":\"wanted\",\"target\":\"x/2\"}");
        assertThat(posted.statusCode()).isEqualTo(201);
        long wantedId = Http.json(posted).get("id").asLong();

        EventClient longPoll = onlyClient(server.server.hub());
        synchronized (longPoll) {
          release.countDown(); // the pump reads [1, wanted], matches it, sets its cursor, then waits for the lock in deliver
          Await.until(Duration.ofSeconds(20), () -> pump.get().getState() == Thread.State.BLOCKED);
          longPoll.close(); // what the poll's timeout (or the hub's failure) runs at that instant
        }
        HttpResponse<String> r = poll.get();
        JsonNode body = Http.json(r);
        System.out.println("long poll answered " + r.statusCode() + " " + r.body() + " wanted " + wantedId);
        // the event matched the poll's filter; an answer must either carry it or leave last_id before it
        boolean delivered = body.get("data").size() == 1 && body.get("data").get(0).get("id").asLong() == wantedId;
        assertThat(delivered || body.get("last_id").asLong() < wantedId)
            .as("answer %s loses event %d: it is not in data, and resuming after last_id skips it", r.body(), wantedId)
            .isTrue();
      }
    });
  }

  @SuppressWarnings("unchecked")
  private static EventClient onlyClient(EventHub hub) throws Exception {
    Field f = EventHub.class.getDeclaredField("clients");
    f.setAccessible(true);
    Set<EventClient> clients = (Set<EventClient>) f.get(hub);
    assertThat(clients).hasSize(1);
    return clients.iterator().next();
  }
}
