package io.kyros.collab.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import io.kyros.collab.benchmarks.Comparison.Selector;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which sides a round runs, grouped by comparison, in alternating (ABBA) order. */
class PlanTest {
  private static final Selector DOC_COLLAB = side("DocumentWriteBenchmark.oneWriter", "target", "COLLAB_FILE");
  private static final Selector DOC_FLOOR = side("DocumentWriteBenchmark.oneWriter", "target", "RAW_FLOOR");
  private static final Selector DOC_16 = side("DocumentWriteBenchmark.sixteenWriters", "target", "COLLAB_FILE");
  private static final Selector DOC_16_FLOOR = side("DocumentWriteBenchmark.sixteenWriters", "target", "RAW_FLOOR");
  private static final Selector TAIL_MEMORY = side("TailLatencyBenchmark.appendToDelivery", "backend", "MEMORY");

  private static Selector side(String method, String param, String value) {
    return new Selector(method, Map.of(param, value));
  }

  @Test
  void sidesLinkedByAComparisonShareAGroupAndEachSideRunsOncePerRound() {
    Plan plan = Plan.of(Comparison.ALL, Comparison.ALSO_EXPECTED, List.of());

    assertThat(plan.comparisons()).isEqualTo(Comparison.ALL);
    assertThat(plan.groups().get(0)).containsExactly(DOC_COLLAB, DOC_FLOOR, DOC_16, DOC_16_FLOOR);
    assertThat(plan.groups().get(1)).hasSize(8); // the appenders: Collab, the floor, SQLite and H2, 1 and 16 threads
    List<Selector> round = plan.order(0, plan.allGroups());
    assertThat(round).doesNotHaveDuplicates().hasSize(plan.sidesPerRound()).hasSize(35);
    assertThat(plan.unpaired()).containsExactlyElementsOf(Comparison.ALSO_EXPECTED);
  }

  @Test
  void evenRoundsRunEachGroupForwardOddRoundsBackward() {
    Plan plan = Plan.of(Comparison.ALL, List.of(), List.of("^doc-write-1-writer-vs-floor$", "tail-p99-memory"));

    assertThat(plan.order(0, plan.allGroups())).containsExactly(DOC_COLLAB, DOC_FLOOR, TAIL_MEMORY);
    assertThat(plan.order(1, plan.allGroups())).containsExactly(DOC_FLOOR, DOC_COLLAB, TAIL_MEMORY);
    assertThat(plan.order(2, plan.allGroups())).containsExactly(DOC_COLLAB, DOC_FLOOR, TAIL_MEMORY);
    assertThat(plan.order(3, Set.of(0))).containsExactly(DOC_FLOOR, DOC_COLLAB);
  }

  @Test
  void regexesSelectComparisonsByNameOrBySideAndUnpairedResultsBySide() {
    Plan byName = Plan.of(Comparison.ALL, Comparison.ALSO_EXPECTED, List.of("lease-postgresql"));
    Plan bySide = Plan.of(Comparison.ALL, Comparison.ALSO_EXPECTED, List.of("LeaseBenchmark"));

    assertThat(byName.comparisons()).extracting(Comparison::name)
        .containsExactly("lease-postgresql-vs-shedlock", "lease-postgresql-vs-floor");
    assertThat(byName.unpaired()).isEmpty();
    assertThat(bySide.comparisons()).extracting(Comparison::name)
        .containsExactly("lease-postgresql-vs-shedlock", "lease-postgresql-vs-floor", "lease-floor-vs-shedlock");
    assertThat(bySide.unpaired()).extracting(Selector::toString)
        .containsExactly("LeaseBenchmark.acquireRelease backend=MEMORY", "LeaseBenchmark.acquireRelease backend=FILE");
    // the three share their sides, so they are one group, run in one rotation
    assertThat(bySide.comparisons()).allSatisfy(c -> assertThat(bySide.groupOf(c)).isZero());
  }

  @Test
  void groupsMergeWhenALaterComparisonLinksThem() {
    Comparison a = new Comparison("a", "a", Comparison.Measure.THROUGHPUT, side("X.m", "p", "1"), side("X.m", "p", "2"),
        Double.NaN, null);
    Comparison b = new Comparison("b", "b", Comparison.Measure.THROUGHPUT, side("Y.m", "p", "1"), side("Y.m", "p", "2"),
        Double.NaN, null);
    Comparison link = new Comparison("link", "link", Comparison.Measure.THROUGHPUT, side("Y.m", "p", "2"),
        side("X.m", "p", "2"), Double.NaN, null);

    Plan plan = Plan.of(List.of(a, b, link), List.of(), List.of());

    assertThat(plan.groups()).hasSize(1);
    assertThat(plan.groups().get(0)).extracting(Selector::toString).containsExactly("X.m p=1", "X.m p=2", "Y.m p=1", "Y.m p=2");
  }
}
