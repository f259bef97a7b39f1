package io.kyros.collab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kyros.collab.conformance.MutableClock;
import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.StoredRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The lease and task records one instance remembers committing are answered without parsing them ({@link
 * LeaseCommits#held}, {@link TaskCommits#value}), and what they are answered with is what their stored values say.
 */
@Timeout(60)
class RememberedRecordsTest {
  private static final Duration TTL = Duration.ofSeconds(30);

  private final MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00.123456789Z"));
  private final MemoryStorage storage = MemoryStorage.create(clock);
  private final Core core = new Core(storage, new ObjectMapper(), new CoreSettings("alice", 1 << 20,
      Duration.ofSeconds(10), Workflow.kanban(), 3, Duration.ofSeconds(1), Duration.ofMinutes(1), 10_000,
      Duration.ofSeconds(1)));
  private final LeaseCommits leases = new LeaseCommits(core);
  /** Another instance on the same store, whose commits this one does not remember. */
  private final Collab rival = Collab.builder().storage(storage).holder("bob").build();

  @AfterEach
  void close() {
    rival.close();
  }

  @Test
  void aRememberedVersionIsAnsweredWithoutParsingAndAsItsStoredValueSays() {
    RecordKey key = RecordKeys.lease("r");
    Lease first = leases.tryAcquire("r", "alice", TTL).orElseThrow();
    assertThat(first.fence()).isEqualTo(1);
    assertThat(answerWithoutParsing(key)).contains(first);
    agreesWithItsValue(key);

    assertThat(leases.release(key, first)).isTrue();
    assertThat(answerWithoutParsing(key)).isEmpty();
    agreesWithItsValue(key);

    Lease second = leases.tryAcquire("r", "alice", TTL).orElseThrow(); // from the remembered free record
    assertThat(second.fence()).as("the last fence the free record keeps, plus one").isEqualTo(2);
    assertThat(answerWithoutParsing(key)).contains(second);
    agreesWithItsValue(key);

    clock.advance(TTL.plusSeconds(1));
    Lease reclaimed = rival.leases().tryAcquire("r", TTL).orElseThrow();
    assertThat(reclaimed.fence()).isEqualTo(3);
    StoredRecord theirs = storage.read(key).orElseThrow();
    assertThatThrownBy(() -> leases.held(damaged(theirs))).as("a version this instance did not commit is parsed")
        .isInstanceOf(StorageException.class).hasMessageContaining("is damaged");
    assertThat(leases.held(theirs)).isEqualTo(reclaimed);
    agreesWithItsValue(key);

    assertThat(rival.leases().release(reclaimed)).isTrue();
    Lease fourth = leases.tryAcquire("r", "alice", TTL).orElseThrow(); // the remembered record is out of date: read
    assertThat(fourth.fence()).isEqualTo(4);
    assertThat(answerWithoutParsing(key)).contains(fourth);
    agreesWithItsValue(key);
  }

  @Test
  void aClaimsLeaseRecordIsAnsweredWithoutParsingAndAsItsStoredValueSays() {
    Tasks tasks = new Tasks(core, leases);
    tasks.create(NewTask.of("a").withId("a"));
    RecordKey key = RecordKeys.claimLease("a");
    TaskClaim claim = tasks.claimNext(TTL).orElseThrow();
    assertThat(answerWithoutParsing(key)).contains(claim.lease());
    agreesWithItsValue(key);

    tasks.release(claim); // the free record is remembered with the commit's writes, decoded when first asked
    agreesWithItsValue(key);
    assertThat(leases.held(storage.read(key).orElseThrow())).isNull();
    assertThat(answerWithoutParsing(key)).isEmpty();

    TaskClaim again = tasks.claimNext(TTL).orElseThrow();
    assertThat(again.lease().fence()).isEqualTo(claim.lease().fence() + 1);
    assertThat(answerWithoutParsing(key)).contains(again.lease());
    tasks.complete(again);
    agreesWithItsValue(key);
  }

  @Test
  void aTaskRecordThisInstanceCommittedIsAnsweredWithTheValueItEncodedWhichIsTheStoredValue() {
    TaskCommits commits = new TaskCommits(core, leases);
    TaskClaims claims = new TaskClaims(core, leases, commits);
    commits.create("a", NewTask.of("a").withId("a").withPriority(7).withLabels("x", "y"), 3);
    RecordKey key = RecordKeys.task("a");
    StoredRecord created = storage.read(key).orElseThrow();
    assertThatThrownBy(() -> commits.value(damaged(created))).as("not remembered: parsed")
        .isInstanceOf(StorageException.class).hasMessageContaining("is damaged");

    TaskClaim claim = claims.claim("a", "alice", TTL).orElseThrow();
    StoredRecord claimed = storage.read(key).orElseThrow();
    ObjectNode remembered = commits.value(damaged(claimed));
    assertThat(CanonicalJson.canonicalize(remembered)).isEqualTo(claimed.json());
    assertThat(commits.value(claimed)).isSameAs(remembered);
    assertThat(commits.toTask(claimed)).isEqualTo(claim.task());

    Task done = claims.complete(claim, TrailingEvents.NONE);
    StoredRecord completed = storage.read(key).orElseThrow();
    assertThat(CanonicalJson.canonicalize(commits.value(damaged(completed)))).isEqualTo(completed.json());
    assertThat(TaskRecord.toTask(commits.value(completed), completed.revision(), completed.hash())).isEqualTo(done);
    assertThat(commits.value(new StoredRecord(key, completed.json(), completed.revision(), "another hash")))
        .as("another version").isNotSameAs(commits.value(completed));
  }

  /**
   * @return what {@link LeaseCommits#held} answers for the stored version of {@code key} carrying a value that does
   *     not parse: only a version it remembers, or one parsed before (Core's cache of parsed values, by version), is
   *     answered; the versions asked for here were never parsed
   */
  private Optional<Lease> answerWithoutParsing(RecordKey key) {
    return Optional.ofNullable(leases.held(damaged(storage.read(key).orElseThrow())));
  }

  /** The same version of the record (key, revision, hash) with a value that does not parse. */
  private static StoredRecord damaged(StoredRecord r) {
    return new StoredRecord(r.key(), "{not json", r.revision(), r.hash());
  }

  /** Both the stored and the remembered record of {@code key} are answered as a parse of their values says. */
  private void agreesWithItsValue(RecordKey key) {
    StoredRecord stored = storage.read(key).orElseThrow();
    assertThat(leases.held(stored)).isEqualTo(LeaseRecord.decode(core.parseJson(stored.json(), "stored"), stored));
    StoredRecord remembered = leases.remembered(key).orElseThrow();
    assertThat(leases.held(remembered))
        .isEqualTo(LeaseRecord.decode(core.parseJson(remembered.json(), "remembered"), remembered));
  }
}
