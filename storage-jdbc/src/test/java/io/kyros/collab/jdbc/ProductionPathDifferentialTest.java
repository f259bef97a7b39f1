package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.memory.MemoryStorage;
import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.CommitResult;
import io.kyros.collab.spi.Expectation;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Storage;
import io.kyros.collab.spi.StoredEvent;
import io.kyros.collab.spi.StoredRecord;
import io.kyros.collab.spi.Write;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Differential (contributed by an adversarial review): seeded random commits on each database, on the database clock
 * (the production setting, under which PostgreSQL's one-round-trip forms run: the conformance suite and the model
 * properties use a test clock, which leaves PostgreSQL's commits on the general path), and on {@code MemoryStorage},
 * compared after every step: the result's kind, the failed expectation and its actual revision, revisions ascending,
 * events as built from the real revisions, the log, every record and every index scan. The commits mix creates,
 * updates and deletes with and without expectations, duplicate and contradictory expectations on one key, passed and
 * future time bounds, fixed events (with details holding the stand-in digits event templates use), templated events
 * and plain event functions, and sizes around {@code SingleStatement.ONE_ROW_MAX} (8/9 writes and events) and
 * {@code InlineCommit.ONE_TRIP_EXPECTATIONS} (32/33). On PostgreSQL the test also checks that the self-checked, checked
 * and general forms all ran. {@code -Dcollab.differential.seed} and {@code .steps} change the run (default 12345, 400).
 */
class ProductionPathDifferentialTest {
  static final List<RecordKey> KEYS = new ArrayList<>();
  static {
    for (String c : List.of("a", "b")) {
      for (int i = 0; i < 20; i++) {
        KEYS.add(new RecordKey(c, "r" + i));
      }
    }
  }
  static final List<String> INDEXES = List.of("i1", "i2");
  static final List<String> IKEYS = List.of("k1", "k2", "k3");

  /** Per-backend state: current revision per key, and an older revision per key. */
  static final class Side {
    final Storage s;
    final Map<RecordKey, Long> current = new HashMap<>();
    final Map<RecordKey, Long> older = new HashMap<>();
    long maxRevision;
    long lastEvent;

    Side(Storage s) {
      this.s = s;
    }

    long cur(RecordKey k) {
      return current.getOrDefault(k, 0L);
    }
  }

  record ESpec(int key, int kind, int time) {}

  record WSpec(int key, boolean delete, String json, List<IndexEntry> index) {}

  record Spec(List<ESpec> exps, List<WSpec> writes, int eventMode, int events) {}

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void differential(TestDatabase.Kind kind) {
    long seed = Long.getLong("collab.differential.seed", 12345L);
    int steps = Integer.getInteger("collab.differential.steps", 400);
    try (TestDatabase db = TestDatabase.open(kind, "diff_" + kind.name().toLowerCase().charAt(0) + "_")) {
      FaultyDataSource recorded = new FaultyDataSource(db.dataSource());
      JdbcStorage jdbc = db.recordedStorage(recorded);
      Side mem = new Side(MemoryStorage.create());
      Side sql = new Side(jdbc);
      Random rnd = new Random(seed);
      for (int step = 0; step < steps; step++) {
        Spec spec = spec(rnd, mem);
        Commit cm = instantiate(spec, mem);
        Commit cj = instantiate(spec, sql);
        CommitResult rm = mem.s.commit(cm);
        CommitResult rj = sql.s.commit(cj);
        String where = "step " + step + " " + spec + "\n mem " + rm + "\n jdbc " + rj;
        assertThat(rj.getClass()).as(where).isEqualTo(rm.getClass());
        if (rm instanceof CommitResult.Conflict m) {
          CommitResult.Conflict j = (CommitResult.Conflict) rj;
          assertThat(cj.expectations().indexOf(j.failed())).as(where)
              .isEqualTo(cm.expectations().indexOf(m.failed()));
          assertThat(j.actualRevision()).as(where).isEqualTo(sql.cur(j.failed().key()));
          assertThat(m.actualRevision()).as(where).isEqualTo(mem.cur(m.failed().key()));
        } else {
          check(sql, cj, (CommitResult.Committed) rj, where);
          check(mem, cm, (CommitResult.Committed) rm, where);
          CommitResult.Committed a = (CommitResult.Committed) rm;
          CommitResult.Committed b = (CommitResult.Committed) rj;
          assertThat(b.events()).extracting(StoredEvent::type).as(where)
              .isEqualTo(a.events().stream().map(StoredEvent::type).toList());
          assertThat(b.events()).extracting(StoredEvent::target).as(where)
              .isEqualTo(a.events().stream().map(StoredEvent::target).toList());
        }
        compareState(mem, sql, where);
      }
      Map<String, Integer> forms = new java.util.TreeMap<>();
      for (var c : recorded.connections()) {
        for (String q : c.prepared()) {
          String f = q.startsWith("WITH l AS") ? "selfChecked" : q.contains("WITH t AS MATERIALIZED") ? "checked"
              : q.contains("generate_series") ? "general" : null;
          if (f != null) {
            forms.merge(f, 1, Integer::sum);
          }
        }
      }
      if (kind == TestDatabase.Kind.POSTGRESQL) {
        assertThat(forms).as("PostgreSQL's commit forms that ran").containsKeys("selfChecked", "checked", "general");
      }
      jdbc.close();
    }
  }

  private static void check(Side side, Commit c, CommitResult.Committed r, String where) {
    assertThat(r.revisions()).as(where).hasSize(c.writes().size());
    long prev = side.maxRevision;
    for (long rev : r.revisions()) {
      assertThat(rev).as(where + " revisions ascend past every earlier one").isGreaterThan(prev);
      prev = rev;
    }
    side.maxRevision = Math.max(side.maxRevision, prev);
    assertThat(r.events()).extracting(e -> new NewEvent(e.type(), e.actor(), e.target(), e.detailsJson()))
        .as(where + " events as built from the real revisions")
        .isEqualTo(c.eventsFor(r.revisions()));
    for (int i = 0; i < c.writes().size(); i++) {
      Write w = c.writes().get(i);
      long old = side.cur(w.key());
      if (old != 0) {
        side.older.put(w.key(), old);
      }
      if (w.isDelete()) {
        side.current.remove(w.key());
      } else {
        side.current.put(w.key(), r.revisions().get(i));
      }
    }
    List<StoredEvent> log = side.s.readEvents(side.lastEvent, 10_000);
    assertThat(log).as(where + " log after " + side.lastEvent).isEqualTo(r.events());
    if (!log.isEmpty()) {
      side.lastEvent = log.get(log.size() - 1).id();
    }
    assertThat(side.s.lastEventId()).as(where).isEqualTo(side.lastEvent);
  }

  private static void compareState(Side mem, Side sql, String where) {
    for (RecordKey k : KEYS) {
      var a = mem.s.read(k);
      var b = sql.s.read(k);
      assertThat(b.isPresent()).as(where + " present " + k).isEqualTo(a.isPresent());
      if (a.isPresent()) {
        assertThat(b.get().json()).as(where).isEqualTo(a.get().json());
        assertThat(b.get().hash()).as(where).isEqualTo(a.get().hash());
        assertThat(b.get().revision()).as(where + " revision of " + k).isEqualTo(sql.cur(k));
      } else {
        assertThat(sql.cur(k)).as(where).isZero();
      }
    }
    for (String c : List.of("a", "b")) {
      for (String idx : INDEXES) {
        List<String> x = hits(mem.s.scanIndex(IndexQuery.first(c, idx, 1000)));
        List<String> y = hits(sql.s.scanIndex(IndexQuery.first(c, idx, 1000)));
        assertThat(y).as(where + " index " + c + "/" + idx).isEqualTo(x);
      }
    }
  }

  private static List<String> hits(List<IndexHit> hits) {
    return hits.stream().map(h -> h.key() + "@" + h.record().key().id() + "=" + h.record().json()).toList();
  }

  private static Spec spec(Random rnd, Side mem) {
    boolean selfShaped = rnd.nextInt(3) == 0;
    int nw = rnd.nextInt(10) == 0 ? 7 + rnd.nextInt(4) : rnd.nextInt(4);
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < KEYS.size(); i++) {
      order.add(i);
    }
    java.util.Collections.shuffle(order, rnd);
    List<WSpec> writes = new ArrayList<>();
    List<ESpec> exps = new ArrayList<>();
    for (int i = 0; i < nw; i++) {
      int key = order.get(i);
      boolean delete = !selfShaped && rnd.nextInt(6) == 0;
      List<IndexEntry> index = new ArrayList<>();
      if (!delete) {
        for (String idx : INDEXES) {
          if (rnd.nextInt(3) > 0) {
            index.add(new IndexEntry(idx, IKEYS.get(rnd.nextInt(IKEYS.size()))));
          }
        }
      }
      writes.add(new WSpec(key, delete, "{\"v\":" + rnd.nextInt(1000) + "}", index));
      int p = rnd.nextInt(10);
      boolean exists = mem.cur(KEYS.get(key)) != 0;
      if (selfShaped) {
        exps.add(new ESpec(key, rnd.nextInt(5) == 0 ? rnd.nextInt(4) : (exists ? 0 : 1), rnd.nextInt(6) == 0 ? 1 : rnd.nextInt(2) * 2));
        if (rnd.nextInt(5) == 0) {
          exps.add(new ESpec(key, rnd.nextInt(4), rnd.nextInt(3)));
        }
      } else if (p < 7) {
        exps.add(new ESpec(key, exists ? 0 : 1, rnd.nextInt(8) == 0 ? 2 : 0));
      } else if (p < 9) {
        exps.add(new ESpec(key, rnd.nextInt(4), rnd.nextInt(3)));
      }
    }
    if (!selfShaped && rnd.nextInt(8) == 0) {
      // exactly around the one-trip bound, all holding but perhaps the last
      int target = 30 + rnd.nextInt(6);
      boolean failLast = rnd.nextBoolean();
      while (exps.size() < target) {
        int key = rnd.nextInt(KEYS.size());
        boolean exists = mem.cur(KEYS.get(key)) != 0;
        boolean last = exps.size() == target - 1;
        exps.add(new ESpec(key, last && failLast ? 3 : (exists ? 0 : 1), last && failLast && rnd.nextBoolean() ? 1 : 2));
      }
      int eventMode = rnd.nextInt(3);
      return new Spec(exps, writes, eventMode, rnd.nextInt(10));
    }
    int extra = selfShaped ? 0 : rnd.nextInt(12) == 0 ? 28 + rnd.nextInt(8) : rnd.nextInt(3);
    for (int i = 0; i < extra; i++) {
      int key = rnd.nextInt(KEYS.size());
      boolean exists = mem.cur(KEYS.get(key)) != 0;
      int kind = rnd.nextInt(5) == 0 ? rnd.nextInt(4) : (exists ? 0 : 1);
      int time = rnd.nextInt(10) == 0 ? 1 : rnd.nextInt(2) * 2;
      exps.add(new ESpec(key, kind, time));
    }
    if (!exps.isEmpty() && rnd.nextInt(4) == 0) {
      java.util.Collections.shuffle(exps, rnd);
    }
    int eventMode = rnd.nextInt(3);
    int events = rnd.nextInt(6) == 0 ? 7 + rnd.nextInt(4) : rnd.nextInt(3);
    return new Spec(exps, writes, eventMode, events);
  }

  private static Commit instantiate(Spec spec, Side side) {
    Instant now = side.s.now();
    List<Expectation> exps = new ArrayList<>();
    for (ESpec e : spec.exps()) {
      RecordKey k = KEYS.get(e.key());
      long rev = switch (e.kind()) {
        case 0 -> side.cur(k);
        case 1 -> Expectation.ABSENT;
        case 2 -> side.older.getOrDefault(k, side.cur(k) + 1_000_000L);
        default -> side.cur(k) + 1_000_000L;
      };
      Instant bound = switch (e.time()) {
        case 1 -> now.minus(Duration.ofHours(1));
        case 2 -> now.plus(Duration.ofHours(1));
        default -> null;
      };
      exps.add(new Expectation(k, rev, bound));
    }
    List<Write> writes = new ArrayList<>();
    for (WSpec w : spec.writes()) {
      RecordKey k = KEYS.get(w.key());
      writes.add(w.delete() ? Write.delete(k) : Write.put(k, w.json(), "h" + w.json().hashCode(), w.index()));
    }
    int n = spec.events();
    return switch (spec.eventMode()) {
      case 0 -> {
        List<NewEvent> ev = new ArrayList<>();
        for (int j = 0; j < n; j++) {
          ev.add(new NewEvent("t" + j, "actor", "tg" + j, "{\"n\":" + j + ",\"x\":\"7100000-8100000000000000\"}"));
        }
        yield Commit.of(exps, writes, ev);
      }
      case 1 -> Commit.namingRevisions(exps, writes, revs -> {
        List<NewEvent> ev = new ArrayList<>();
        for (int j = 0; j < n; j++) {
          StringBuilder d = new StringBuilder("{\"j\":" + j);
          if (!revs.isEmpty()) {
            long r = revs.get(j % revs.size());
            d.append(",\"etag\":\"").append(r).append("-h").append(j).append("\",\"all\":").append(revs);
          }
          ev.add(new NewEvent("n" + j, "actor", "tg" + j, d.append('}').toString().replace(" ", "")));
        }
        return ev;
      });
      default -> new Commit(exps, writes, revs -> {
        List<NewEvent> ev = new ArrayList<>();
        for (int j = 0; j < n; j++) {
          ev.add(new NewEvent("p" + j, "actor", "tg" + j, "{\"revs\":\"" + revs + "\"}"));
        }
        return ev;
      });
    };
  }
}
