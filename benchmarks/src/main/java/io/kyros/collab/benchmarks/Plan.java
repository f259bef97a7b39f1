package io.kyros.collab.benchmarks;

import io.kyros.collab.benchmarks.Comparison.Selector;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What a paired run measures and in which order. The comparisons' sides (benchmark methods with parameters) fall into
 * groups: sides linked by a comparison share a group, so the document-write floor and the Collab writers compared with
 * it are measured next to each other. Every round runs every group's sides, each in its own JMH fork; even rounds
 * (counting from 0) in the group's order, odd rounds reversed (A B, B A, A B, ...: ABBA), so a drift of the disk or a
 * neighbour's load hits both sides of a pair alike. Unpaired results (no comparison uses them) run once, after the
 * rounds.
 *
 * <p>Immutable and thread-safe.
 *
 * @param comparisons the comparisons measured, in report order
 * @param groups the sides to run each round, grouped, each group in first-use order
 * @param unpaired the results shown without a comparison, run once
 */
record Plan(List<Comparison> comparisons, List<List<Selector>> groups, List<Selector> unpaired) {

  /**
   * @param comparisons the comparisons
   * @param groups the groups
   * @param unpaired the unpaired results
   */
  Plan {
    comparisons = List.copyOf(comparisons);
    groups = groups.stream().map(List::copyOf).toList();
    unpaired = List.copyOf(unpaired);
  }

  /**
   * Plans the comparisons (and unpaired results) that the regexes select.
   *
   * @param all every comparison, in report order
   * @param also the unpaired results
   * @param includes regexes (found anywhere, as JMH's includes are): a comparison is in when one finds its name or
   *     either side's benchmark and parameters (such as {@code LeaseBenchmark.acquireRelease backend=POSTGRESQL}), an
   *     unpaired result when one finds its benchmark and parameters; everything when there are none
   * @return the plan
   * @throws java.util.regex.PatternSyntaxException if a regex is not one
   */
  static Plan of(List<Comparison> all, List<Selector> also, List<String> includes) {
    List<Pattern> patterns = includes.stream().map(Pattern::compile).toList();
    List<Comparison> chosen = all.stream()
        .filter(c -> patterns.isEmpty() || patterns.stream().anyMatch(p -> p.matcher(c.name()).find()
            || p.matcher(c.ours().toString()).find() || c.baseline() != null && p.matcher(c.baseline().toString()).find()))
        .toList();
    List<LinkedHashSet<Selector>> groups = new ArrayList<>();
    for (Comparison c : chosen) {
      List<Selector> sides = c.baseline() == null ? List.of(c.ours()) : List.of(c.ours(), c.baseline());
      LinkedHashSet<Selector> merged = null;
      for (var it = groups.iterator(); it.hasNext(); ) {
        LinkedHashSet<Selector> group = it.next();
        if (!Collections.disjoint(group, sides)) {
          if (merged == null) {
            merged = group;
          } else {
            merged.addAll(group);
            it.remove();
          }
        }
      }
      if (merged == null) {
        merged = new LinkedHashSet<>();
        groups.add(merged);
      }
      merged.addAll(sides);
    }
    Set<Selector> paired = new LinkedHashSet<>();
    groups.forEach(paired::addAll);
    List<Selector> unpaired = also.stream()
        .filter(s -> !paired.contains(s))
        .filter(s -> patterns.isEmpty() || patterns.stream().anyMatch(p -> p.matcher(s.toString()).find()))
        .toList();
    return new Plan(chosen, groups.stream().map(g -> (List<Selector>) new ArrayList<>(g)).toList(), unpaired);
  }

  /**
   * @param round the round, counting from 0
   * @param active the indexes of the groups to run (all of {@link #groups} for a planned round)
   * @return the sides to run in that round, in order: each active group forward in even rounds, reversed in odd ones
   */
  List<Selector> order(int round, Set<Integer> active) {
    List<Selector> order = new ArrayList<>();
    for (int g = 0; g < groups.size(); g++) {
      if (active.contains(g)) {
        List<Selector> group = new ArrayList<>(groups.get(g));
        if (round % 2 == 1) {
          Collections.reverse(group);
        }
        order.addAll(group);
      }
    }
    return order;
  }

  /**
   * @return the indexes of all groups
   */
  Set<Integer> allGroups() {
    Set<Integer> all = new LinkedHashSet<>();
    for (int g = 0; g < groups.size(); g++) {
      all.add(g);
    }
    return all;
  }

  /**
   * @param comparison one of {@link #comparisons}
   * @return the index of the group holding its sides
   * @throws IllegalArgumentException if the comparison is not planned
   */
  int groupOf(Comparison comparison) {
    for (int g = 0; g < groups.size(); g++) {
      if (groups.get(g).contains(comparison.ours())) {
        return g;
      }
    }
    throw new IllegalArgumentException("comparison must be planned: " + comparison.name());
  }

  /**
   * @return how many sides one full round runs
   */
  int sidesPerRound() {
    return groups.stream().mapToInt(List::size).sum();
  }
}
