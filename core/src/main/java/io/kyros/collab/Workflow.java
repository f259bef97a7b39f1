package io.kyros.collab;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The states a task moves through and the transitions allowed between them. Four states have a role:
 * {@code initial} (new and requeued tasks; what {@link Tasks#claimNext} picks from), {@code claimed}
 * (what a claim moves to), {@code done} (what {@link Tasks#complete} moves to, and what dependencies
 * must reach) and {@code failed} (where a task lands after its last attempt). States without outgoing
 * transitions are terminal.
 *
 * <p>The default, {@link #kanban()}:
 * <pre>
 * queued -&gt; claimed -&gt; in_progress -&gt; review -&gt; approved -&gt; merging -&gt; done
 *   back-edges: claimed/in_progress -&gt; queued, review/approved/merging -&gt; in_progress
 *   shortcuts:  claimed/in_progress -&gt; done, any working state -&gt; failed, queued -&gt; failed (cancel)
 * </pre>
 *
 * <p>Immutable and thread-safe. Build custom workflows with {@link #builder(String)}.
 */
public final class Workflow {

  private static final Workflow KANBAN = builder("kanban")
      .initial("queued").claimed("claimed").done("done").failed("failed")
      .transition("queued", "claimed", "failed")
      .transition("claimed", "in_progress", "queued", "done", "failed")
      .transition("in_progress", "review", "queued", "done", "failed")
      .transition("review", "approved", "in_progress", "failed")
      .transition("approved", "merging", "in_progress", "failed")
      .transition("merging", "done", "in_progress", "failed")
      .build();

  private final String name;
  private final String initial;
  private final String claimed;
  private final String done;
  private final String failed;
  private final Map<String, Set<String>> transitions;

  private Workflow(Builder b) {
    this.name = b.name;
    this.initial = b.initial;
    this.claimed = b.claimed;
    this.done = b.done;
    this.failed = b.failed;
    Map<String, Set<String>> t = new LinkedHashMap<>();
    b.transitions.forEach((k, v) -> t.put(k, Collections.unmodifiableSet(new LinkedHashSet<>(v))));
    this.transitions = Collections.unmodifiableMap(t);
  }

  /** @return the default Kanban workflow */
  public static Workflow kanban() {
    return KANBAN;
  }

  /**
   * @param name the workflow's name, used in messages
   * @return a builder
   * @throws NullPointerException if name is null
   */
  public static Builder builder(String name) {
    return new Builder(Objects.requireNonNull(name, "name"));
  }

  /** @return the workflow's name */
  public String name() {
    return name;
  }

  /** @return the initial (queued) state */
  public String initial() {
    return initial;
  }

  /** @return the state a claim moves to */
  public String claimed() {
    return claimed;
  }

  /** @return the successful terminal state */
  public String done() {
    return done;
  }

  /** @return the state a task lands in after its last failed attempt */
  public String failed() {
    return failed;
  }

  /** @return every state, in declaration order */
  public Set<String> states() {
    return transitions.keySet();
  }

  /**
   * @param state a state
   * @return true if it has no outgoing transitions
   * @throws IllegalArgumentException if the state is unknown
   */
  public boolean isTerminal(String state) {
    return allowedFrom(state).isEmpty();
  }

  /**
   * The one rule of which states hold a claim: every state but the initial one, the failed one and the terminal
   * ones. A task moving to a state that does not hold a claim frees its claim lease; a stale claim on a task in
   * a state that holds one moves the task back (reclaim).
   *
   * @throws IllegalArgumentException if the state is unknown
   */
  boolean holdsClaim(String state) {
    return !state.equals(initial) && !state.equals(failed) && !isTerminal(state);
  }

  /**
   * @param state a state
   * @return the states reachable from it in one transition
   * @throws IllegalArgumentException if the state is unknown
   */
  public Set<String> allowedFrom(String state) {
    return transitions.get(requireState(state));
  }

  /**
   * @param state a state name
   * @return the name, if the workflow knows it
   * @throws IllegalArgumentException naming the known states if it does not
   * @throws NullPointerException if state is null
   */
  public String requireState(String state) {
    Objects.requireNonNull(state, "state");
    if (!transitions.containsKey(state)) {
      throw new IllegalArgumentException("unknown status '" + state + "' in workflow " + name + "; known: "
          + transitions.keySet());
    }
    return state;
  }

  /**
   * Checks a transition.
   *
   * @param from the current state
   * @param to the requested state
   * @throws IllegalArgumentException if a state is unknown
   * @throws InvalidTransitionException if the transition is not allowed
   */
  public void checkTransition(String from, String to) {
    requireState(to);
    Set<String> allowed = allowedFrom(from);
    if (!allowed.contains(to)) {
      throw new InvalidTransitionException(name, from, to, allowed);
    }
  }

  @Override
  public String toString() {
    return "Workflow[" + name + ": " + transitions + "]";
  }

  /**
   * Builds a {@link Workflow}. Each role is set once; transitions accumulate.
   *
   * <p>Not thread-safe; use from one thread.
   */
  public static final class Builder {
    private final String name;
    private String initial;
    private String claimed;
    private String done;
    private String failed;
    private final Map<String, Set<String>> transitions = new LinkedHashMap<>();

    private Builder(String name) {
      this.name = name;
    }

    private static String once(String current, String value, String role) {
      Objects.requireNonNull(value, role);
      if (current != null) {
        throw new IllegalStateException(role + " state was already set to " + current);
      }
      state(value);
      return value;
    }

    private static String state(String value) {
      if (!value.matches("[a-z][a-z0-9_]{0,63}")) {
        throw new IllegalArgumentException("state name must match [a-z][a-z0-9_]{0,63}: " + value);
      }
      return value;
    }

    /**
     * @param state the initial state
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder initial(String state) {
      initial = once(initial, state, "initial");
      transitions.computeIfAbsent(state, k -> new LinkedHashSet<>());
      return this;
    }

    /**
     * @param state the claimed state
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder claimed(String state) {
      claimed = once(claimed, state, "claimed");
      transitions.computeIfAbsent(state, k -> new LinkedHashSet<>());
      return this;
    }

    /**
     * @param state the done state
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder done(String state) {
      done = once(done, state, "done");
      transitions.computeIfAbsent(state, k -> new LinkedHashSet<>());
      return this;
    }

    /**
     * @param state the failed state
     * @return this builder
     * @throws IllegalStateException if already set
     */
    public Builder failed(String state) {
      failed = once(failed, state, "failed");
      transitions.computeIfAbsent(state, k -> new LinkedHashSet<>());
      return this;
    }

    /**
     * Allows transitions from one state to others, declaring the states.
     *
     * @param from the source state
     * @param to the target states
     * @return this builder
     */
    public Builder transition(String from, String... to) {
      Set<String> targets = transitions.computeIfAbsent(state(from), k -> new LinkedHashSet<>());
      for (String t : to) {
        if (t.equals(from)) {
          throw new IllegalArgumentException("a state cannot transition to itself: " + from);
        }
        targets.add(state(t));
        transitions.computeIfAbsent(t, k -> new LinkedHashSet<>());
      }
      return this;
    }

    /**
     * @return the workflow
     * @throws IllegalStateException if a role is unset, the initial state cannot be claimed, the
     *     claimed state cannot reach done, initial and failed, done is not terminal, or failed is done or initial
     */
    public Workflow build() {
      if (initial == null || claimed == null || done == null || failed == null) {
        throw new IllegalStateException("workflow " + name + " needs initial, claimed, done and failed states");
      }
      require(initial, claimed);
      require(claimed, initial);
      require(claimed, failed);
      if (!reachable(claimed).contains(done)) {
        // every completion would be refused: complete moves a claimed task to done through allowed transitions
        throw new IllegalStateException("workflow " + name + " must let claimed state " + claimed
            + " reach done state " + done + "; reachable from it: " + reachable(claimed));
      }
      if (!transitions.get(done).isEmpty()) {
        throw new IllegalStateException("done state " + done + " must be terminal in workflow " + name);
      }
      if (failed.equals(initial)) {
        // a task failed for good (its attempts used up, or its batch cancelled) would be claimable again at once, and
        // maxAttempts would never end it
        throw new IllegalStateException("workflow " + name + " needs a failed state other than its initial state "
            + initial + ": a task failed for good there would be claimed again");
      }
      if (failed.equals(done)) {
        // a reclaim or a cancelled batch moves a task to failed without the completion's unblocking of its
        // dependents, which would then wait for ever on a task in the done state
        throw new IllegalStateException("workflow " + name + " needs a failed state other than its done state "
            + done);
      }
      return new Workflow(this);
    }

    /** @return the states reachable from {@code from} in one or more transitions, in the order first found */
    private Set<String> reachable(String from) {
      Set<String> seen = new LinkedHashSet<>();
      ArrayDeque<String> next = new ArrayDeque<>(transitions.get(from));
      while (!next.isEmpty()) {
        String s = next.poll();
        if (seen.add(s)) {
          next.addAll(transitions.get(s));
        }
      }
      return seen;
    }

    private void require(String from, String to) {
      if (!transitions.get(from).contains(to)) {
        throw new IllegalStateException("workflow " + name + " must allow " + from + " -> " + to);
      }
    }
  }
}
