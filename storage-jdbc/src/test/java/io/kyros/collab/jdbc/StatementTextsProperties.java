package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * A statement text kept by shape ({@link SingleStatement.Texts}) is the text the commit's own statement would have:
 * commits of many shapes, each built once against texts every earlier commit filled and once against empty ones.
 * Two commits whose texts differ in anything the shape leaves out would be given the first one's text. The commits
 * are drawn from few shapes (up to 4 writes in 3 collections, 3 events), so that a list holds near neighbours:
 * leaving out of the shape which writes create, whether the first write is the first expectation's, which events
 * name which writes, whether one key is locked, or the index deletes' and inserts' counts makes this fail (checked by
 * breaking the shape each way once; the index deletes' group sizes by the example below).
 */
class StatementTextsProperties {
  private static final Tables TABLES = Tables.of("collab_");
  private static final SqlText SQL = new SqlText(TABLES, new PostgresDialect());
  private static final String CLOCK = "(clock)";
  private static final String ONE_KEY = "lock one key";
  private static final String KEYS = "lock keys";

  /**
   * One commit's shape, drawn: its writes, whether each creates, its index entries, whether it expects a record it
   * does not write, its events' markers, how many keys it locks, each write's collection, and whether its
   * expectations come in the reverse of the writes' order.
   */
  record Drawn(List<Boolean> creates, List<Integer> entries, boolean expectsOther, List<List<Integer>> markers,
      int locks, List<Integer> collections, boolean reversed) {}

  @Property(tries = 300)
  void aKeptTextIsTheTextTheCommitBuilds(@ForAll("commitLists") List<Drawn> commits) {
    SingleStatement.Texts kept = new SingleStatement.Texts();
    for (Drawn d : commits) {
      Commit c = commit(d);
      Optional<SingleStatement> cached = SingleStatement.selfChecked(kept, TABLES, SQL, c.lock, CLOCK,
          c.expectations, c.writes, c.index, c.events, d.markers(), 1_000, c.locks);
      Optional<SingleStatement> fresh = SingleStatement.selfChecked(new SingleStatement.Texts(), TABLES, SQL, c.lock,
          CLOCK, c.expectations, c.writes, c.index, c.events, d.markers(), 1_000, c.locks);
      assertThat(cached.map(SingleStatement::sql)).isEqualTo(fresh.map(SingleStatement::sql));
      assertThat(cached.map(SingleStatement::parameters)).isEqualTo(fresh.map(SingleStatement::parameters));
      SingleStatement checked = SingleStatement.checked(kept, TABLES, SQL, CLOCK, c.expectations, c.writes, c.index,
          c.events, d.markers());
      SingleStatement checkedFresh = SingleStatement.checked(new SingleStatement.Texts(), TABLES, SQL, CLOCK,
          c.expectations, c.writes, c.index, c.events, d.markers());
      assertThat(checked.sql()).isEqualTo(checkedFresh.sql());
      assertThat(checked.parameters()).isEqualTo(checkedFresh.parameters());
    }
    assertThat(kept.size()).isPositive();
  }

  /**
   * Four updates in three collections (index deletes of 3 and 1 records) and in two (2 and 2): neighbours too rare
   * among the drawn ones.
   */
  @Example
  void commitsDifferingOnlyInTheirIndexDeletesEachGetTheirOwnText() {
    List<Boolean> updates = List.of(false, false, false, false);
    List<Integer> none = List.of(0, 0, 0, 0);
    aKeptTextIsTheTextTheCommitBuilds(List.of(
        new Drawn(updates, none, false, List.of(), 4, List.of(0, 1, 2, 0), false),
        new Drawn(updates, none, false, List.of(), 4, List.of(0, 1, 1, 0), false)));
  }

  /** A statement of thousands of events is built each time, not kept: no large text stays in memory. */
  @Example
  void aLongTextIsNotKept() {
    List<List<Integer>> markers = Collections.nCopies(2_000, List.of());
    Commit c = commit(new Drawn(List.of(), List.of(), false, markers, 0, List.of(), false));
    SingleStatement.Texts texts = new SingleStatement.Texts();
    String text = SingleStatement.selfChecked(texts, TABLES, SQL, c.lock, CLOCK, c.expectations, c.writes, c.index,
        c.events, markers, 1_000, c.locks).orElseThrow().sql();
    assertThat(text.length()).isGreaterThan(SingleStatement.Texts.MAX_TEXT_CHARS);
    assertThat(texts.size()).isZero();
    Commit small = commit(new Drawn(List.of(), List.of(), false, List.of(List.of()), 0, List.of(), false));
    SingleStatement.selfChecked(texts, TABLES, SQL, small.lock, CLOCK, small.expectations, small.writes, small.index,
        small.events, List.of(List.of()), 1_000, small.locks);
    assertThat(texts.size()).isOne();
  }

  @Provide
  Arbitrary<List<Drawn>> commitLists() {
    Arbitrary<Drawn> drawn = Arbitraries.integers().between(0, 4).flatMap(writes -> {
      Arbitrary<List<Boolean>> creates = Arbitraries.of(true, false).list().ofSize(writes);
      Arbitrary<List<Integer>> entries = Arbitraries.integers().between(0, 2).list().ofSize(writes);
      Arbitrary<List<Integer>> marked = writes == 0 ? Arbitraries.just(List.of())
          : Arbitraries.integers().between(0, writes - 1).set().ofMaxSize(2).map(s -> s.stream().sorted().toList());
      Arbitrary<List<List<Integer>>> markers = marked.list().ofMaxSize(3);
      Arbitrary<List<Integer>> collections = Arbitraries.integers().between(0, 2).list().ofSize(writes);
      return Combinators.combine(creates, entries, Arbitraries.of(true, false), markers,
          Arbitraries.integers().between(0, 3), collections, Arbitraries.of(true, false)).as(Drawn::new);
    });
    return drawn.list().ofMinSize(1).ofMaxSize(80);
  }

  /** The parts of a drawn commit the statements take. */
  private record Commit(List<Expectation> expectations, List<Write> writes, IndexWrites index, List<NewEvent> events,
      String lock, Long[] locks) {}

  private static Commit commit(Drawn d) {
    List<Expectation> expectations = new ArrayList<>();
    List<Write> writes = new ArrayList<>();
    for (int i = 0; i < d.creates().size(); i++) {
      RecordKey key = new RecordKey("c" + d.collections().get(i), "r" + i);
      expectations.add(d.creates().get(i) ? Expectation.absent(key)
          : Expectation.revisionUntil(key, 10 + i, Instant.parse("2026-01-01T00:00:00Z")));
      List<IndexEntry> entries = new ArrayList<>();
      for (int e = 0; e < d.entries().get(i); e++) {
        entries.add(new IndexEntry("ix" + e, "k" + i));
      }
      writes.add(Write.put(key, "{\"v\":" + i + "}", "h" + i, entries));
    }
    if (d.reversed()) {
      Collections.reverse(expectations); // the first expectation not on the first write: the statement cannot report
    }
    if (d.expectsOther()) {
      expectations.add(Expectation.revision(new RecordKey("c", "other"), 3)); // not written: no self-checked form
    }
    List<NewEvent> events = new ArrayList<>();
    for (int k = 0; k < d.markers().size(); k++) {
      events.add(new NewEvent("t", "a", "g", "{\"e\":" + k + "}"));
    }
    IndexWrites index = IndexWrites.replacing(writes,
        w -> expectations.stream().anyMatch(e -> e.key().equals(w.key()) && e.revision() == Expectation.ABSENT));
    Long[] locks = new Long[d.locks()];
    for (int i = 0; i < locks.length; i++) {
      locks[i] = (long) i;
    }
    return new Commit(expectations, writes, index, events, locks.length == 1 ? ONE_KEY : KEYS, locks);
  }
}
