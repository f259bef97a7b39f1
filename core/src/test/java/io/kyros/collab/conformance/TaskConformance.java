package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.ChecklistItem;
import io.kyros.collab.Collab;
import io.kyros.collab.DependencyException;
import io.kyros.collab.Event;
import io.kyros.collab.InvalidTransitionException;
import io.kyros.collab.LeaseLostException;
import io.kyros.collab.NewTask;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.PreconditionFailedException;
import io.kyros.collab.Task;
import io.kyros.collab.TaskClaim;
import io.kyros.collab.TaskFilter;
import io.kyros.collab.TaskPatch;
import io.kyros.collab.TransitionResult;
import io.kyros.collab.Workflow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** docs/design.md invariant 5: tasks, workflows, claiming through leases, retries and reclaim. */
public abstract class TaskConformance extends EventConformance {
  /**
   * @return a workflow other than Kanban ({@code todo}, {@code doing}, {@code shipped}, {@code dropped}), for tests of
   *     two workflows on one store
   */
  public static Workflow otherWorkflow() {
    return Workflow.builder("other").initial("todo").claimed("doing").done("shipped").failed("dropped")
        .transition("todo", "doing").transition("doing", "todo", "shipped", "dropped").build();
  }


  private static final Duration TTL = Duration.ofSeconds(60);

  private Task task(String id) {
    return collab.tasks().create(NewTask.of("Task " + id).withId(id));
  }

  @Test
  void tasks_createWithDefaultsAndRecordTheEvent() {
    Task t = collab.tasks().create(NewTask.of("Write docs").withDescription("all of them").withPriority(5)
        .withLabels("docs", "p1").withChecklist("intro", "api"));
    assertThat(t.id()).matches("t-[a-z0-9]{12}");
    assertThat(t.status()).isEqualTo("queued");
    assertThat(t.attempts()).isZero();
    assertThat(t.maxAttempts()).isEqualTo(3);
    assertThat(t.labels()).containsExactlyInAnyOrder("docs", "p1");
    assertThat(t.checklist()).containsExactly(ChecklistItem.of("intro"), ChecklistItem.of("api"));
    assertThat(t.createdAt()).isEqualTo(storage.now());
    assertThat(t.assignee()).isNull();
    assertThat(collab.tasks().get(t.id())).contains(t);
    Event e = allEvents().get(0);
    assertThat(e.type()).isEqualTo("task_created");
    assertThat(e.target()).isEqualTo("tasks/" + t.id());
    assertThat(e.details().get("etag").asText()).isEqualTo(t.etag().toString());
  }

  @Test
  void tasks_claimNextPicksPriorityThenAgeAndTakesALease() {
    task("low");
    clock.advance(Duration.ofSeconds(1));
    collab.tasks().create(NewTask.of("high, newer").withId("high2").withPriority(9));
    clock.advance(Duration.ofSeconds(1));
    collab.tasks().create(NewTask.of("high, newest").withId("high3").withPriority(9));
    collab.tasks().create(NewTask.of("high, oldest").withId("high1").withPriority(9));
    clock.advance(Duration.ofSeconds(1));
    List<String> order = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
      order.add(claim.task().id());
      assertThat(claim.task().status()).isEqualTo("claimed");
      assertThat(claim.task().assignee()).isEqualTo("alice");
      assertThat(claim.lease().resource()).isEqualTo("tasks/" + claim.task().id());
      assertThat(claim.lease().holder()).isEqualTo("alice");
    }
    assertThat(order).containsExactly("high2", "high1", "high3", "low");
    assertThat(collab.tasks().claimNext(TTL)).isEmpty();
  }

  @Test
  void tasks_claimRecordsTaskAndLeaseEventsTogether() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext("worker-1", TTL, Set.of()).orElseThrow();
    List<Event> events = allEvents();
    assertThat(events).extracting(Event::type).containsExactly("task_created", "lease_acquired", "task_claimed");
    Event claimed = events.get(2);
    assertThat(claimed.actor()).isEqualTo("worker-1");
    assertThat(claimed.details().get("oldStatus").asText()).isEqualTo("queued");
    assertThat(claimed.details().get("newStatus").asText()).isEqualTo("claimed");
    assertThat(claimed.details().get("fence").asLong()).isEqualTo(claim.lease().fence());
    assertThat(claimed.details().get("etag").asText()).isEqualTo(claim.task().etag().toString());
    assertThat(collab.leases().list()).as("task claims are not resource leases").isEmpty();
  }

  @Test
  void tasks_labelsFilterClaims() {
    collab.tasks().create(NewTask.of("a").withId("a").withLabels("gpu"));
    collab.tasks().create(NewTask.of("b").withId("b").withLabels("cpu"));
    assertThat(collab.tasks().claimNext("w", TTL, Set.of("cpu")).orElseThrow().task().id()).isEqualTo("b");
    assertThat(collab.tasks().claimNext("w", TTL, Set.of("cpu"))).isEmpty();
  }

  @Test
  void tasks_dependenciesMustBeDoneBeforeClaiming() {
    task("base");
    collab.tasks().create(NewTask.of("after").withId("after").withDependsOn("base").withPriority(10));
    TaskClaim base = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(base.task().id()).isEqualTo("base");
    assertThat(collab.tasks().claimNext(TTL)).isEmpty();
    assertThat(collab.tasks().claim("after", "w", TTL)).isEmpty();
    collab.tasks().complete(base);
    assertThat(collab.tasks().claimNext(TTL).orElseThrow().task().id()).isEqualTo("after");
  }

  @Test
  void tasks_missingOrSelfDependenciesAreRejectedAndNothingIsWritten() {
    assertThatThrownBy(() -> collab.tasks().create(NewTask.of("x").withId("x").withDependsOn("ghost")))
        .isInstanceOf(DependencyException.class).hasMessage("task x depends on missing task ghost");
    assertThatThrownBy(() -> collab.tasks().create(NewTask.of("x").withId("x").withDependsOn("x")))
        .isInstanceOf(DependencyException.class).hasMessageContaining("cannot depend on itself");
    assertThat(collab.tasks().get("x")).isEmpty();
    assertThat(collab.events().lastId()).isZero();
  }

  @Test
  void tasks_cyclesAreRejectedWhenTheyWouldBeCreated() {
    task("a");
    collab.tasks().create(NewTask.of("b").withId("b").withDependsOn("a"));
    collab.tasks().create(NewTask.of("c").withId("c").withDependsOn("b"));
    Task a = collab.tasks().get("a").orElseThrow();
    long events = collab.events().lastId();
    assertThatThrownBy(() -> collab.tasks().update("a", a.etag(), TaskPatch.none().dependsOn("c")))
        .isInstanceOf(DependencyException.class).hasMessage("dependency cycle: a -> c -> b -> a");
    assertThatThrownBy(() -> collab.tasks().update("a", a.etag(), TaskPatch.none().dependsOn("a")))
        .isInstanceOf(DependencyException.class);
    assertThatThrownBy(() -> collab.tasks().update("a", a.etag(), TaskPatch.none().dependsOn("nope")))
        .isInstanceOf(DependencyException.class).hasMessageContaining("missing task nope");
    assertThat(collab.tasks().get("a")).contains(a);
    assertThat(collab.events().lastId()).isEqualTo(events);
    task("d");
    Task updated = collab.tasks().update("c", null, TaskPatch.none().dependsOn("b", "d"));
    assertThat(updated.dependsOn()).containsExactly("b", "d");
  }

  @Test
  void tasks_updateUsesIfMatch() {
    Task t = task("a");
    Task u = collab.tasks().update("a", t.etag(), TaskPatch.none().title("New title").priority(3)
        .checklist(List.of(new ChecklistItem("x", true))).labels("l"));
    assertThat(u.title()).isEqualTo("New title");
    assertThat(u.priority()).isEqualTo(3);
    assertThat(u.checklist()).containsExactly(new ChecklistItem("x", true));
    assertThat(u.status()).isEqualTo("queued");
    assertThat(u.etag()).isNotEqualTo(t.etag());
    assertThatThrownBy(() -> collab.tasks().update("a", t.etag(), TaskPatch.none().title("stale")))
        .isInstanceOf(PreconditionFailedException.class);
    assertThat(collab.tasks().get("a")).contains(u);
    Event e = allEvents().get(allEvents().size() - 1);
    assertThat(e.type()).isEqualTo("task_updated");
    assertThat(e.details().get("changed").toString()).isEqualTo("[\"title\",\"priority\",\"checklist\",\"labels\"]");
    assertThatThrownBy(() -> collab.tasks().update("ghost", null, TaskPatch.none()))
        .isInstanceOf(NotFoundException.class).hasMessage("task ghost does not exist");
  }

  @Test
  void tasks_anEmptyPatchChangesNothingAndRecordsNothing() {
    Task t = task("a");
    long events = collab.events().lastId();

    assertThat(collab.tasks().update("a", t.etag(), TaskPatch.none())).isEqualTo(t);
    assertThat(collab.tasks().update("a", null, TaskPatch.none())).isEqualTo(t);
    assertThat(collab.tasks().get("a")).contains(t);
    assertThat(collab.events().lastId()).as("events recorded by empty patches").isEqualTo(events);
    Task u = collab.tasks().update("a", t.etag(), TaskPatch.none().title("changed"));
    assertThatThrownBy(() -> collab.tasks().update("a", t.etag(), TaskPatch.none()))
        .isInstanceOf(PreconditionFailedException.class);
    assertThat(collab.tasks().get("a")).contains(u);
  }

  @Test
  void tasks_transitionsFollowTheWorkflow() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    TransitionResult started = collab.tasks().transition(claim, "in_progress");
    assertThat(started.oldStatus()).isEqualTo("claimed");
    assertThat(started.newStatus()).isEqualTo("in_progress");
    TransitionResult review = collab.tasks().transition(claim, "review");
    assertThat(review.task().status()).isEqualTo("review");
    assertThatThrownBy(() -> collab.tasks().transition("a", "done", null))
        .isInstanceOfSatisfying(InvalidTransitionException.class, e -> {
          assertThat(e.from()).isEqualTo("review");
          assertThat(e.allowed()).containsExactlyInAnyOrder("approved", "in_progress", "failed");
          assertThat(e.getMessage()).contains("review -> done").contains("approved");
        });
    TransitionResult back = collab.tasks().transition("a", "in_progress", review.task().etag());
    assertThat(back.oldStatus()).isEqualTo("review");
    assertThatThrownBy(() -> collab.tasks().transition("a", "review", review.task().etag()))
        .isInstanceOf(PreconditionFailedException.class);
    assertThatThrownBy(() -> collab.tasks().transition("a", "nonsense", null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown status 'nonsense'");
    assertThatThrownBy(() -> collab.tasks().transition("a", "claimed", null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("claiming");
    Event e = allEvents().get(allEvents().size() - 1);
    assertThat(e.type()).isEqualTo("task_transitioned");
    assertThat(e.details().get("oldStatus").asText()).isEqualTo("review");
    assertThat(e.details().get("newStatus").asText()).isEqualTo("in_progress");
  }

  @Test
  void tasks_movingToATerminalStatusEndsTheClaim() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    TransitionResult failed = collab.tasks().transition("a", "failed", null);
    assertThat(failed.task().assignee()).isNull();
    assertThat(eventTypes()).endsWith("task_transitioned", "lease_released");
    assertThatThrownBy(() -> collab.tasks().complete(claim)).isInstanceOf(LeaseLostException.class);
    assertThatThrownBy(() -> collab.tasks().transition("a", "queued", null))
        .isInstanceOf(InvalidTransitionException.class).hasMessageContaining("none (terminal)");
  }

  @Test
  void tasks_completeNeedsTheLeaseAndFreesIt() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    Task done = collab.tasks().complete(claim);
    assertThat(done.status()).isEqualTo("done");
    assertThat(done.assignee()).isNull();
    assertThat(eventTypes()).endsWith("task_completed", "lease_released");
    assertThatThrownBy(() -> collab.tasks().complete(claim)).isInstanceOf(LeaseLostException.class);
    assertThat(collab.tasks().claimNext(TTL)).isEmpty();
  }

  @Test
  void tasks_completeAfterTheLeaseExpiredFailsAndChangesNothing() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    clock.advance(TTL.plusSeconds(1));
    long events = collab.events().lastId();
    assertThatThrownBy(() -> collab.tasks().complete(claim)).isInstanceOf(LeaseLostException.class);
    assertThat(collab.tasks().get("a").orElseThrow().status()).isEqualTo("claimed");
    assertThat(collab.events().lastId()).isEqualTo(events);
  }

  @Test
  void tasks_failRetriesWithBackoffThenFailsForGood() {
    collab.tasks().create(NewTask.of("flaky").withId("f").withMaxAttempts(2));
    TaskClaim first = collab.tasks().claimNext(TTL).orElseThrow();
    Task retry = collab.tasks().fail(first, "boom");
    assertThat(retry.status()).isEqualTo("queued");
    assertThat(retry.attempts()).isEqualTo(1);
    assertThat(retry.lastError()).isEqualTo("boom");
    assertThat(retry.notBefore()).isEqualTo(storage.now().plusSeconds(1));
    assertThat(collab.tasks().claimNext(TTL)).as("backoff pending").isEmpty();
    clock.advance(Duration.ofSeconds(1));
    TaskClaim second = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(second.lease().fence()).isGreaterThan(first.lease().fence());
    Task failed = collab.tasks().fail(second, "boom again");
    assertThat(failed.status()).isEqualTo("failed");
    assertThat(failed.attempts()).isEqualTo(2);
    Event e = allEvents().get(allEvents().size() - 2);
    assertThat(e.type()).isEqualTo("task_failed");
    assertThat(e.details().get("retry").asBoolean()).isFalse();
    assertThat(e.details().get("error").asText()).isEqualTo("boom again");
  }

  @Test
  void tasks_releaseRequeuesWithoutCountingAnAttempt() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    Task released = collab.tasks().release(claim);
    assertThat(released.status()).isEqualTo("queued");
    assertThat(released.attempts()).isZero();
    assertThat(eventTypes()).endsWith("task_released", "lease_released");
    assertThat(collab.tasks().claimNext(TTL)).isPresent();
  }

  @Test
  void tasks_staleClaimsAreReclaimedBackToTheQueueThenToFailed() {
    collab.tasks().create(NewTask.of("a").withId("a").withMaxAttempts(2));
    Collab bob = newCollab("bob");
    TaskClaim lost = bob.tasks().claimNext(TTL).orElseThrow();
    assertThat(collab.tasks().reclaimStale()).isEmpty();
    clock.advance(TTL.plusSeconds(1));
    List<Task> reclaimed = collab.tasks().reclaimStale();
    assertThat(reclaimed).singleElement().satisfies(t -> {
      assertThat(t.status()).isEqualTo("queued");
      assertThat(t.attempts()).isEqualTo(1);
      assertThat(t.assignee()).isNull();
    });
    List<Event> events = allEvents();
    Event taskEvent = events.get(events.size() - 1);
    assertThat(taskEvent.type()).isEqualTo("task_reclaimed");
    assertThat(taskEvent.details().get("previousHolder").asText()).isEqualTo("bob");
    assertThat(events.get(events.size() - 2).type()).isEqualTo("lease_reclaimed");
    assertThatThrownBy(() -> bob.tasks().complete(lost)).isInstanceOf(LeaseLostException.class);

    TaskClaim again = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(again.lease().fence()).isGreaterThan(lost.lease().fence());
    clock.advance(TTL.plusSeconds(1));
    assertThat(collab.tasks().reclaimStale()).singleElement()
        .satisfies(t -> assertThat(t.status()).isEqualTo("failed"));
  }

  @Test
  void tasks_keepAliveKeepsAClaimOverTime() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    for (int i = 0; i < 3; i++) {
      clock.advance(Duration.ofSeconds(50));
      claim = claim.withLease(collab.leases().renew(claim.lease()));
    }
    assertThat(collab.tasks().reclaimStale()).isEmpty();
    assertThat(collab.tasks().complete(claim).status()).isEqualTo("done");
  }

  @Test
  void tasks_listFilters() {
    collab.tasks().create(NewTask.of("a").withId("a").withLabels("x"));
    clock.advance(Duration.ofSeconds(1));
    collab.tasks().create(NewTask.of("b").withId("b").withLabels("y"));
    collab.tasks().claim("a", "w1", TTL).orElseThrow();
    assertThat(collab.tasks().list(TaskFilter.all())).extracting(Task::id).containsExactly("a", "b");
    assertThat(collab.tasks().list(TaskFilter.all().statuses("queued"))).extracting(Task::id).containsExactly("b");
    assertThat(collab.tasks().list(TaskFilter.all().labels("x", "z"))).extracting(Task::id).containsExactly("a");
    assertThat(collab.tasks().list(TaskFilter.all().assignee("w1"))).extracting(Task::id).containsExactly("a");
  }

  @Test
  void tasks_customWorkflows() {
    Workflow flow = Workflow.builder("review-flow").initial("todo").claimed("doing").done("shipped").failed("dropped")
        .transition("todo", "doing", "dropped").transition("doing", "todo", "checking", "dropped")
        .transition("checking", "shipped", "doing", "dropped").build();
    try (Collab custom = Collab.builder().storage(storage).holder("carol").workflow(flow).build()) {
      custom.tasks().create(NewTask.of("x").withId("x"));
      assertThat(custom.tasks().get("x").orElseThrow().status()).isEqualTo("todo");
      TaskClaim claim = custom.tasks().claimNext(TTL).orElseThrow();
      assertThat(claim.task().status()).isEqualTo("doing");
      assertThatThrownBy(() -> custom.tasks().complete(claim)).isInstanceOf(InvalidTransitionException.class)
          .hasMessageContaining("doing -> shipped");
      custom.tasks().transition(claim, "checking");
      assertThat(custom.tasks().complete(claim).status()).isEqualTo("shipped");
    }
    assertThatThrownBy(() -> Workflow.builder("bad").initial("a").claimed("b").done("c").failed("d").build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("must allow a -> b");
  }

  @Test
  void tasks_badInputIsRejected() {
    assertThatThrownBy(() -> NewTask.of(" ")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("title must not be blank");
    assertThatThrownBy(() -> collab.tasks().create(NewTask.of("x").withId("bad id")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("task id must match");
    assertThatThrownBy(() -> collab.tasks().create(NewTask.of("x").withLabels("no spaces")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label must match");
    assertThatThrownBy(() -> NewTask.of("x").withMaxAttempts(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxAttempts must be positive: 0");
    assertThatThrownBy(() -> collab.tasks().claimNext(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("ttl must be positive: PT0S");
    task("a");
    assertThatThrownBy(() -> task("a")).isInstanceOf(PreconditionFailedException.class);
    assertThat(collab.events().read(0, 100)).hasSize(1);
  }

  @Test
  void tasks_claimLeasesEndOnlyThroughTasks() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    assertThatThrownBy(() -> collab.leases().release(claim.lease())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("is a task claim");
    assertThat(collab.leases().renew(claim.lease()).fence()).isEqualTo(claim.lease().fence());
    assertThat(collab.tasks().release(claim).status()).isEqualTo("queued");
  }

  @Test
  void tasks_aClaimMustCarryItsOwnTasksLease() {
    collab.tasks().create(NewTask.of("a").withId("a").withPriority(2));
    collab.tasks().create(NewTask.of("b").withId("b").withPriority(1));
    TaskClaim mine = collab.tasks().claimNext(TTL).orElseThrow();
    TaskClaim bobs = newCollab("bob").tasks().claimNext(TTL).orElseThrow();
    long events = collab.events().lastId();
    assertThatThrownBy(() -> collab.tasks().complete(new TaskClaim(bobs.task(), mine.lease())))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("carries a lease on tasks/a");
    assertThat(collab.tasks().get("b").orElseThrow().status()).isEqualTo("claimed");
    assertThat(collab.events().lastId()).isEqualTo(events);
  }

  @Test
  void tasks_failAndReleaseEndAClaimFromAnyWorkingStatus() {
    task("a");
    TaskClaim claim = collab.tasks().claimNext(TTL).orElseThrow();
    collab.tasks().transition(claim, "in_progress");
    collab.tasks().transition(claim, "review");
    Task failed = collab.tasks().fail(claim, "review found a bug");
    assertThat(failed.status()).isEqualTo("queued");
    assertThat(failed.attempts()).isEqualTo(1);
    clock.advance(Duration.ofSeconds(1));
    TaskClaim again = collab.tasks().claimNext(TTL).orElseThrow();
    collab.tasks().transition(again, "in_progress");
    collab.tasks().transition(again, "review");
    assertThat(collab.tasks().release(again).status()).isEqualTo("queued");
  }

  @Test
  void tasks_claimNextReclaimsStaleClaimsFirst() {
    task("a");
    TaskClaim crashed = newCollab("crashed").tasks().claimNext(TTL).orElseThrow();
    assertThat(collab.tasks().claimNext(TTL)).isEmpty();
    clock.advance(TTL.plusSeconds(1));
    TaskClaim taken = collab.tasks().claimNext(TTL).orElseThrow();
    assertThat(taken.task().id()).isEqualTo("a");
    assertThat(taken.task().attempts()).isEqualTo(1);
    assertThat(taken.lease().fence()).isGreaterThan(crashed.lease().fence());
    assertThat(eventTypes()).containsSubsequence("lease_reclaimed", "task_reclaimed", "lease_acquired", "task_claimed");
  }

  @Test
  void tasks_readyListsWhatClaimsWouldTakeInTheirOrderWithoutClaiming() {
    collab.tasks().create(NewTask.of("gate").withId("gate"));
    collab.tasks().create(NewTask.of("low").withId("low").withPriority(1));
    clock.advance(Duration.ofSeconds(1));
    collab.tasks().create(NewTask.of("high").withId("high").withPriority(7).withLabels("gpu"));
    collab.tasks().create(NewTask.of("blocked").withId("blocked").withPriority(9).withDependsOn("gate"));
    collab.tasks().create(NewTask.of("newer").withId("newer").withPriority(1).withLabels("cpu"));
    collab.tasks().create(NewTask.of("retried").withId("retried").withPriority(5));
    collab.tasks().create(NewTask.of("done").withId("done").withPriority(8));
    collab.tasks().complete(collab.tasks().claim("done", "w", TTL).orElseThrow());
    collab.tasks().claim("gate", "w", TTL).orElseThrow(); // held
    collab.tasks().fail(collab.tasks().claim("retried", "w", TTL).orElseThrow(), "flaky", Duration.ofSeconds(30));
    try (Collab other = Collab.builder().storage(storage).holder("carol").workflow(otherWorkflow()).build()) {
      other.tasks().create(NewTask.of("theirs").withId("theirs").withPriority(9));
    }

    assertThat(collab.tasks().ready(Set.of(), 10)).extracting(Task::id).containsExactly("high", "low", "newer");
    assertThat(collab.tasks().ready(Set.of(), 2)).extracting(Task::id).containsExactly("high", "low");
    assertThat(collab.tasks().ready(Set.of("cpu", "gpu"), 10)).extracting(Task::id).containsExactly("high", "newer");
    assertThat(collab.tasks().ready(Set.of("cpu"), 10)).extracting(Task::id).containsExactly("newer");
    clock.advance(Duration.ofSeconds(31)); // the backoff passes: ready at once, before any claim promotes it
    assertThat(collab.tasks().ready(Set.of(), 10)).extracting(Task::id).containsExactly("high", "retried", "low",
        "newer");
    assertThat(collab.tasks().ready(Set.of(), 1)).extracting(Task::id).containsExactly("high");
    assertThat(collab.tasks().get("high").orElseThrow().status()).as("nothing claimed").isEqualTo("queued");
    List<String> claimed = new ArrayList<>();
    for (Optional<TaskClaim> c = collab.tasks().claimNext(TTL); c.isPresent(); c = collab.tasks().claimNext(TTL)) {
      claimed.add(c.get().task().id());
    }
    assertThat(claimed).as("the claims take them in that order").containsExactly("high", "retried", "low", "newer");
    assertThat(collab.tasks().ready(Set.of(), 10)).isEmpty();

    assertThatThrownBy(() -> collab.tasks().ready(Set.of(), 0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("limit must be positive: 0");
    assertThatThrownBy(() -> collab.tasks().ready(Set.of("bad label"), 5))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label must match");
  }

  @Test
  void tasks_followTheWorkflowTheyWereCreatedIn() {
    try (Collab other = Collab.builder().storage(storage).holder("carol").workflow(otherWorkflow()).build()) {
      other.tasks().create(NewTask.of("x").withId("x"));
      assertThat(collab.tasks().claimNext(TTL)).as("a kanban Collab does not claim it").isEmpty();
      assertThatThrownBy(() -> collab.tasks().transition("x", "done", null))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("follows workflow other");
      TaskClaim claim = other.tasks().claimNext(TTL).orElseThrow();
      clock.advance(TTL.plusSeconds(1));
      long events = collab.events().lastId();
      assertThat(collab.tasks().reclaimStale()).as("left to its own workflow").isEmpty();
      assertThat(collab.tasks().get("x")).as("untouched by the kanban Collab").contains(claim.task());
      assertThat(collab.events().lastId()).isEqualTo(events);
      assertThat(other.tasks().reclaimStale()).singleElement().satisfies(t -> assertThat(t.status()).isEqualTo("todo"));
      assertThat(collab.tasks().get("x").orElseThrow()).satisfies(t -> {
        assertThat(t.status()).isEqualTo("todo");
        assertThat(t.attempts()).isEqualTo(1);
      });
    }
  }

  @Test
  void tasks_filtersNamingUnknownStatusesAreRejected() {
    assertThatThrownBy(() -> collab.tasks().list(TaskFilter.all().statuses("qeued")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown status 'qeued'");
    assertThatThrownBy(() -> collab.tasks().claimNext("w", TTL, Set.of("bad label")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("label must match");
  }

  @Test
  void tasks_movingToTheFailedStatusEndsTheClaimEvenWhenFailedIsNotTerminal() {
    Workflow flow = Workflow.builder("retryable").initial("todo").claimed("doing").done("shipped").failed("broken")
        .transition("todo", "doing").transition("doing", "todo", "shipped", "broken").transition("broken", "todo")
        .build();
    try (Collab c = Collab.builder().storage(storage).holder("dave").workflow(flow).build()) {
      c.tasks().create(NewTask.of("x").withId("x").withMaxAttempts(1));
      TaskClaim claim = c.tasks().claimNext(TTL).orElseThrow();
      Task failed = c.tasks().fail(claim, "no luck");
      assertThat(failed.status()).isEqualTo("broken");
      assertThat(eventTypes()).endsWith("task_failed", "lease_released");
      clock.advance(TTL.plusSeconds(1));
      assertThat(c.tasks().reclaimStale()).isEmpty();
      assertThat(c.tasks().get("x").orElseThrow().lastError()).isEqualTo("no luck");
      assertThat(c.tasks().transition("x", "todo", null).newStatus()).isEqualTo("todo");
    }
  }
}
