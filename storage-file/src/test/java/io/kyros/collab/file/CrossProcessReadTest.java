package io.kyros.collab.file;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.Collab;
import io.kyros.collab.Document;
import io.kyros.collab.file.harness.ChildJvm;
import io.kyros.collab.file.harness.ChurnWriter;
import io.kyros.collab.file.harness.PingWriter;
import io.kyros.collab.spi.StoredEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reader and a subscriber in this JVM while another JVM writes the same directory: the reader never
 * sees a torn document (every read is one whole value that was written, its ETag matching its
 * content's write number), and the subscriber, woken by file change notifications, receives every
 * event the other process appends, in order. Delivery latencies are printed, not asserted.
 */
class CrossProcessReadTest {
  private static final int WRITES = 150;

  @TempDir
  Path tmp;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void readersNeverSeeATornDocumentAndSubscribersSeeAnotherProcessesEvents() throws Exception {
    Path store = tmp.resolve("store");
    try (FileStorage storage = FileStorage.builder(store).pollInterval(Duration.ofSeconds(10)).open();
        Collab collab = Collab.builder().storage(storage).holder("reader").build()) {
      collab.documents().create("churn", "doc", ChurnWriter.value(0));
      long start = collab.events().lastId();
      try (ChildJvm writer = ChildJvm.start("churn", ChurnWriter.class, tmp.resolve("churn.err"),
          List.of(store.toString(), Integer.toString(WRITES)))) {
        assertThat(writer.awaitLine("ready"::equals, Duration.ofSeconds(60))).as(writer.describe()).isTrue();

        // the subscriber: awaits events (woken by WatchService; the 10 s poll would be far too slow for 150 events)
        List<StoredEvent> seen = Collections.synchronizedList(new ArrayList<>());
        ConcurrentHashMap<Long, Long> seenAt = new ConcurrentHashMap<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread subscriber = new Thread(() -> {
          try {
            long position = start;
            while (seen.size() < WRITES) {
              if (storage.awaitEvents(position, Duration.ofSeconds(60))) {
                for (StoredEvent e : storage.readEvents(position, 1000)) {
                  if (e.type().equals("churned")) {
                    seenAt.put(e.id(), System.nanoTime());
                    seen.add(e);
                  }
                  position = e.id();
                }
              } else {
                throw new AssertionError("no event from the other process within 60 s");
              }
            }
          } catch (Throwable t) {
            failure.set(t);
          }
        }, "subscriber");
        subscriber.start();

        writer.send("go");
        int reads = 0;
        int lastSeq = 0;
        while (writer.isAlive() || reads == 0) {
          Document d = collab.documents().get("churn", "doc").orElseThrow();
          int seq = d.value().path("seq").asInt(-1);
          assertThat(d.value().path("pad").asText().length()).as("read %d of seq %d", reads, seq)
              .isEqualTo(seq == 0 ? ChurnWriter.padLength(0) : ChurnWriter.padLength(seq));
          assertThat(seq).as("documents never go back in time").isGreaterThanOrEqualTo(lastSeq);
          assertThat(d.revision()).isPositive();
          lastSeq = seq;
          reads++;
        }
        assertThat(writer.waitFor(Duration.ofSeconds(60))).isTrue();
        assertThat(writer.exitValue()).as(writer.describe()).isZero();
        subscriber.join(TimeUnit.SECONDS.toMillis(90));
        assertThat(failure.get()).isNull();
        assertThat(seen).extracting(StoredEvent::id).isSorted().doesNotHaveDuplicates().hasSize(WRITES);

        // when the writer printed each ack vs when the subscriber got it, for the record
        List<Long> micros = new ArrayList<>();
        for (String line : writer.lines()) {
          if (line.startsWith("wrote ")) {
            String[] parts = line.split(" ");
            long id = Long.parseLong(parts[2]);
            assertThat(seenAt).containsKey(id);
            micros.add(Math.max(0, seenAt.get(id) - Long.parseLong(parts[3])) / 1000);
          }
        }
        assertThat(micros).hasSize(WRITES);
        Collections.sort(micros);
        System.out.println("CrossProcessReadTest: " + reads + " whole reads while another JVM wrote " + WRITES
            + " times; the subscriber received all " + seen.size() + " events; delivery after the append returned:"
            + " p50 " + micros.get(WRITES / 2) + " us, p99 " + micros.get(WRITES * 99 / 100) + " us, max "
            + micros.get(WRITES - 1) + " us");
      }
    }
  }

  /**
   * The other process's events reach a waiting subscriber through change notifications, not the poll: the poll
   * interval is the longest allowed (1 minute), and the other process appends the next event only after this one saw
   * the previous. Each hand-off is a fresh wait that only a notification can end early: 12 of them by polling alone
   * take about 12 minutes, so the test's 3-minute timeout fails if notifications stop working.
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aWaitingSubscriberIsWokenByAnotherProcessesAppendNotByThePoll() throws Exception {
    Path store = tmp.resolve("ping-store");
    try (FileStorage storage = FileStorage.builder(store).pollInterval(Duration.ofMinutes(1)).open();
        ChildJvm writer = ChildJvm.start("ping", PingWriter.class, tmp.resolve("ping.err"),
            List.of(store.toString()))) {
      assertThat(writer.awaitLine("ready"::equals, Duration.ofSeconds(60))).as(writer.describe()).isTrue();
      long position = storage.lastEventId();
      for (int handOff = 1; handOff <= 12; handOff++) {
        writer.send("next");
        // a wait longer than the test's timeout: only a notification (or 12 polls, far too slow) can end it in time
        assertThat(storage.awaitEvents(position, Duration.ofMinutes(5))).as("hand-off %d", handOff).isTrue();
        List<StoredEvent> events = storage.readEvents(position, 10);
        assertThat(events).as("hand-off %d", handOff).singleElement()
            .satisfies(e -> assertThat(e.type()).isEqualTo("ping"));
        position = events.get(0).id();
      }
    }
  }
}
