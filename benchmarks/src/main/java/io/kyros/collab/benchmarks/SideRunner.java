package io.kyros.collab.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import io.kyros.collab.benchmarks.Comparison.Selector;
import java.util.List;

/**
 * Measures one side of a comparison once: one benchmark method with its parameters, in a fresh fork with its own
 * warm-up. {@link JmhSideRunner} runs JMH; tests give canned results.
 *
 * <p>Implementations need not be thread-safe: the paired runner calls them from one thread.
 */
interface SideRunner {

  /**
   * @param side the benchmark method and parameters
   * @param settings the iterations to run: the round's settings for this side ({@link RoundSettings#forSide})
   * @return JMH's JSON entries of the side (normally one), empty if it failed (the implementation reports why)
   * @throws java.io.IOException if the runner itself cannot run or cannot read its results
   */
  List<JsonNode> run(Selector side, RoundSettings settings) throws java.io.IOException;
}
