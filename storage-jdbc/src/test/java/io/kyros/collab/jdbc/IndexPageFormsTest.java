package io.kyros.collab.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.spi.Commit;
import io.kyros.collab.spi.IndexEntry;
import io.kyros.collab.spi.IndexHit;
import io.kyros.collab.spi.IndexQuery;
import io.kyros.collab.spi.NewEvent;
import io.kyros.collab.spi.RecordKey;
import io.kyros.collab.spi.Write;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each database's form of an index page ({@link Dialect#indexPageStart}: a row value, the OR form, H2's two ranges;
 * read laterally, entries first or by a plain join) returns exactly what {@link IndexQuery} admits, in (key, record id)
 * order, cut at the limit: for random queries over keys that are prefixes of one another ({@code a}, {@code a!}, {@code
 * a!!}), share a key, sit at the alphabet's ends ({@code !}, {@code ~}) or have the greatest length, with start
 * positions on entries, between them, longer than any key and beyond the alphabet (U+007F), bounds above, at and below
 * the start, and small limits; and paging with {@link IndexQuery#after} returns the whole index. A start bound that is
 * off by one character (H2's second range bound to the key followed by {@code "} instead of a space) fails it at once.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class IndexPageFormsTest {
  private static final String C = "pages";
  private static final String INDEX = "k";
  private static final long SEED = 20261207L;

  private record Entry(String key, String id) {}

  private static final Comparator<Entry> ORDER = Comparator.comparing(Entry::key).thenComparing(Entry::id);

  private static String randomKey(Random random) {
    String[] fixed = {"a", "a!", "a!!", "ab", "!", "~", "A", "b", "~".repeat(IndexEntry.MAX_KEY_LENGTH),
        "a".repeat(IndexEntry.MAX_KEY_LENGTH - 1) + "!", "a".repeat(IndexEntry.MAX_KEY_LENGTH)};
    if (random.nextInt(3) == 0) {
      return fixed[random.nextInt(fixed.length)];
    }
    String alphabet = "!a~bA";
    StringBuilder b = new StringBuilder();
    for (int i = 1 + random.nextInt(3); i > 0; i--) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  /**
   * A start or end position: mostly keys, sometimes strings no entry can have, none with a character below 0x21.
   * Positions come from keys (core builds them from hits and from its own keys); MariaDB's {@code _bin} collations
   * pad with spaces when they compare, so a string with a character below the space sorts there otherwise than in
   * Java ({@code a} after {@code a} followed by U+0001), as a first version of this test found.
   */
  private static String randomBound(Random random, List<Entry> entries) {
    return switch (random.nextInt(6)) {
      case 0 -> IndexQuery.START;
      case 1 -> entries.get(random.nextInt(entries.size())).key();
      case 2 -> new String[] {"a~b", "!!", "a\u007f", "~".repeat(250), "a!!!!", "\u007f"}[random.nextInt(6)];
      default -> randomKey(random);
    };
  }

  @ParameterizedTest
  @EnumSource(TestDatabase.Kind.class)
  void everyFormOfAPageReturnsWhatTheQueryAdmits(TestDatabase.Kind kind) {
    Random random = new Random(SEED);
    try (TestDatabase db = TestDatabase.open(kind, "idxpage_", 2, c -> {});
        JdbcStorage storage = db.builder().build()) {
      List<Entry> entries = new ArrayList<>();
      List<Write> writes = new ArrayList<>();
      for (int i = 0; i < 120; i++) {
        String id = String.format("r%03d", random.nextInt(1000));
        if (entries.stream().anyMatch(e -> e.id().equals(id))) {
          continue;
        }
        String key = randomKey(random);
        entries.add(new Entry(key, id));
        writes.add(Write.put(new RecordKey(C, id), "{\"id\":\"" + id + "\"}", "h-" + id,
            List.of(new IndexEntry(INDEX, key))));
      }
      storage.commit(Commit.of(List.of(), writes, List.of(new NewEvent("fill", "tester", C, "{}"))));
      entries.sort(ORDER);

      for (int q = 0; q < 400; q++) {
        String afterKey = randomBound(random, entries);
        String afterId = random.nextBoolean() ? IndexQuery.START
            : random.nextBoolean() ? entries.get(random.nextInt(entries.size())).id() : "r5";
        String untilKey = switch (random.nextInt(4)) {
          case 0 -> IndexQuery.UNBOUNDED;
          case 1 -> afterKey.isEmpty() ? IndexQuery.UNBOUNDED : afterKey;
          default -> randomKey(random);
        };
        int limit = random.nextBoolean() ? 1 + random.nextInt(3) : 1 + random.nextInt(130);
        IndexQuery query = new IndexQuery(C, INDEX, afterKey, afterId, untilKey, limit);
        List<Entry> expected = entries.stream().filter(e -> query.admits(e.key(), e.id())).limit(limit).toList();
        assertThat(storage.scanIndex(query)).extracting(h -> new Entry(h.key(), h.record().key().id()))
            .as("%s on %s", query, kind).containsExactlyElementsOf(expected);
      }

      for (int limit : new int[] {1, 2, 7}) {
        List<Entry> paged = new ArrayList<>();
        IndexQuery query = IndexQuery.first(C, INDEX, limit);
        for (List<IndexHit> page = storage.scanIndex(query); !page.isEmpty(); page = storage.scanIndex(query)) {
          page.forEach(h -> paged.add(new Entry(h.key(), h.record().key().id())));
          query = query.after(page.get(page.size() - 1));
        }
        assertThat(paged).as("paged by %d on %s", limit, kind).containsExactlyElementsOf(entries);
      }
    }
  }
}
