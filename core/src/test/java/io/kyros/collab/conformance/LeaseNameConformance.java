package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.Lease;
import io.kyros.collab.LeaseStatus;
import io.kyros.collab.Leases;
import io.kyros.collab.MarkdownLogRenderer;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * docs/design.md invariant 3, resource names: any non-blank name of at most 1,024 UTF-8 bytes without control
 * characters is a resource; it reads back as given, and is stored under a key every backend can hold.
 */
public abstract class LeaseNameConformance extends DocumentConformance {
  private static final Duration TTL = Duration.ofSeconds(30);
  /** What every backend accepts as a record id, the file store's file names included. */
  private static final String SAFE_ID = "[A-Za-z0-9_][A-Za-z0-9._-]{0,127}";

  /** Names real callers use: paths, job names, spaces, other scripts, the longest allowed. */
  private static List<String> unusualNames() {
    return List.of(
        "src/main/java/Foo.java",
        "com.acme.Job::run",
        "nightly report",
        " padded ",
        "../../etc/passwd",
        "отчёт/январь",
        "日本語のジョブ",
        "emoji 😀 lock",
        "back`tick``s",
        "_underscore",
        "tasks",
        "x".repeat(1024),
        "é".repeat(512),
        "😀".repeat(256));
  }

  @Test
  void leaseNames_unusualNamesRoundTripThroughGetListAndTheLog() {
    List<String> names = unusualNames();
    Map<String, Lease> leases = names.stream()
        .collect(Collectors.toMap(Function.identity(), n -> collab.leases().tryAcquire(n, TTL).orElseThrow()));
    Lease plain = collab.leases().tryAcquire("job-1", TTL).orElseThrow();
    Collab bob = newCollab("bob");
    for (String name : names) {
      Lease lease = leases.get(name);
      assertThat(lease.resource()).isEqualTo(name);
      assertThat(collab.leases().get(name)).as(name).contains(lease);
      assertThat(bob.leases().tryAcquire(name, TTL)).as("held: " + name).isEmpty();
    }
    List<String> sorted = new ArrayList<>(names);
    sorted.add("job-1");
    sorted.sort(null);
    assertThat(collab.leases().list()).extracting(s -> s.lease().resource()).containsExactlyElementsOf(sorted);

    List<Event> acquired = allEvents();
    assertThat(acquired).extracting(Event::type).containsOnly("lease_acquired");
    assertThat(acquired).extracting(e -> e.details().get("resource").asText())
        .containsExactlyInAnyOrderElementsOf(sorted);
    assertThat(acquired).allSatisfy(e ->
        assertThat(e.target()).isEqualTo("leases/" + e.details().get("resource").asText()));
    String log = MarkdownLogRenderer.create().render(acquired);
    assertThat(log).contains("lease on `src/main/java/Foo.java`", "lease on `com.acme.Job::run`",
        "lease on `отчёт/январь`", "lease on `日本語のジョブ`", "lease on ```back`tick``s```",
        "lease on `" + "😀".repeat(256) + "`");

    List<StoredRecord> records = storage.list("_leases", null, 100);
    assertThat(records).hasSize(names.size() + 1);
    assertThat(records).extracting(r -> r.key().id()).allSatisfy(id -> assertThat(id).matches(SAFE_ID));
    assertThat(records).extracting(r -> r.key().id()).as("names of the old form keep their key").contains("job-1");
    assertThat(collab.leases().release(plain)).isTrue();

    for (String name : names) {
      assertThat(collab.leases().release(leases.get(name))).as(name).isTrue();
      Lease again = bob.leases().tryAcquire(name, TTL).orElseThrow();
      assertThat(again.fence()).as("the same record keeps the fence: " + name).isEqualTo(leases.get(name).fence() + 1);
    }
    assertThat(eventTypes()).filteredOn("lease_released"::equals).hasSize(names.size() + 1);
  }

  @Test
  void leaseNames_invalidNamesAreRefusedWithNothingWritten() {
    Map<String, String> refused = Map.ofEntries(
        Map.entry("", "resource must not be blank"),
        Map.entry("   ", "resource must not be blank"),
        Map.entry("\u00a0\u2003", "resource must not be blank"),
        Map.entry("x".repeat(1025), "resource must be at most 1024 bytes in UTF-8, got 1025"),
        Map.entry("é".repeat(513), "resource must be at most 1024 bytes in UTF-8, got 1026"),
        Map.entry("😀".repeat(256) + "x", "resource must be at most 1024 bytes in UTF-8, got 1025"),
        Map.entry("line\nbreak", "resource must not contain control characters (Unicode Cc): U+000A at index 4"),
        Map.entry("tab\t", "resource must not contain control characters (Unicode Cc): U+0009 at index 3"),
        Map.entry("nul\u0000", "resource must not contain control characters (Unicode Cc): U+0000 at index 3"),
        Map.entry("c1\u0085", "resource must not contain control characters (Unicode Cc): U+0085 at index 2"),
        Map.entry("del\u007f", "resource must not contain control characters (Unicode Cc): U+007F at index 3"),
        Map.entry("lone\ud800", "resource must not contain a lone surrogate: U+D800 at index 4"),
        Map.entry("\udc00", "resource must not contain a lone surrogate: U+DC00 at index 0"),
        Map.entry("tasks/t-1", "resource must not start with tasks/ (reserved for task claims)"));
    for (Map.Entry<String, String> e : refused.entrySet()) {
      String name = e.getKey();
      assertThatThrownBy(() -> Leases.checkResourceName(name)).as(name)
          .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(e.getValue());
      assertThatThrownBy(() -> collab.leases().tryAcquire(name, TTL)).as(name)
          .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(e.getValue());
      assertThatThrownBy(() -> collab.leases().acquire(name, TTL, Duration.ZERO)).as(name)
          .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(e.getValue());
      assertThatThrownBy(() -> collab.leases().get(name)).as(name)
          .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith(e.getValue());
    }
    assertThatThrownBy(() -> Leases.checkResourceName(null)).isInstanceOf(NullPointerException.class)
        .hasMessage("resource");
    assertThat(Leases.checkResourceName("com.acme.Job::run")).isEqualTo("com.acme.Job::run");
    assertThat(collab.events().lastId()).isZero();
    assertThat(storage.list("_leases", null, 10)).isEmpty();
    assertThat(collab.leases().list()).extracting(LeaseStatus::lease).isEmpty();
  }
}
