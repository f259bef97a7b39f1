package io.kyros.collab.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kyros.collab.Agent;
import io.kyros.collab.AgentSpec;
import io.kyros.collab.AgentStatus;
import io.kyros.collab.Collab;
import io.kyros.collab.Event;
import io.kyros.collab.EventType;
import io.kyros.collab.Lease;
import io.kyros.collab.NewTask;
import io.kyros.collab.NotFoundException;
import io.kyros.collab.Outcome;
import io.kyros.collab.WorkerPool;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The agents registry (issue 14): registration, presence judged by the storage's clock, busy while holding claims,
 * the availability toggle stopping a pool's claims, claims by skill, and unknown agents refused.
 */
public abstract class AgentConformance extends BatchConformance {

  @Test
  void agents_aWorkerPoolRegistersItselfAndShowsAvailableBusyThenOffline() throws Exception {
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch finish = new CountDownLatch(1);
    WorkerPool p = pool(collab, "resizer-1", b -> b.role("resizer").metadata(Map.of("zone", "eu"))
        .handler("resize", ctx -> {
          started.countDown();
          finish.await();
          return Outcome.done();
        }));
    Agent a = collab.agents().get("resizer-1").orElseThrow();
    assertThat(a.role()).isEqualTo("resizer");
    assertThat(a.skills()).containsExactly("resize");
    assertThat(a.status()).isEqualTo(AgentStatus.AVAILABLE);
    assertThat(a.lastSeen()).isEqualTo(clock.instant());
    assertThat(a.metadata().path("zone").asText()).isEqualTo("eu");
    collab.tasks().create(NewTask.of("big image").withId("img").withLabels("resize"));
    assertThat(started.await(1, TimeUnit.MINUTES)).isTrue();
    Agent busy = collab.agents().get("resizer-1").orElseThrow();
    assertThat(busy.status()).isEqualTo(AgentStatus.BUSY);
    assertThat(busy.currentTasks()).containsExactly("img");
    finish.countDown();
    awaitCondition("done", () -> task("img").status().equals("done"));
    p.close();
    assertThat(collab.agents().get("resizer-1").orElseThrow().status()).isEqualTo(AgentStatus.OFFLINE);
    List<String> changes = events(EventType.AGENT_REGISTERED, EventType.AGENT_STATUS_CHANGED).stream()
        .map(e -> e.type() + ":" + e.details().path("newStatus").asText(e.details().path("status").asText()))
        .toList();
    assertThat(changes).containsExactly("agent_registered:offline", "agent_status_changed:available",
        "agent_status_changed:offline");
  }

  @Test
  void agents_presenceGoesStaleByTheStorageClock() {
    Agent registered = collab.agents().register(new AgentSpec("a1", "reviewer", Set.of("review"), Map.of()));
    assertThat(registered.status()).isEqualTo(AgentStatus.OFFLINE);
    assertThat(registered.lastSeen()).isNull();
    long before = collab.events().lastId();
    assertThat(collab.agents().register(new AgentSpec("a1", "reviewer", Set.of("review"), Map.of())).etag())
        .isEqualTo(registered.etag()); // the same registration writes nothing
    assertThat(collab.events().lastId()).isEqualTo(before);
    Lease presence = collab.agents().join("a1", Duration.ofSeconds(10));
    assertThat(collab.agents().get("a1").orElseThrow().status()).isEqualTo(AgentStatus.AVAILABLE);
    clock.advance(Duration.ofSeconds(10));
    assertThat(collab.agents().get("a1").orElseThrow().status()).isEqualTo(AgentStatus.AVAILABLE);
    clock.advance(Duration.ofMillis(1));
    Agent stale = collab.agents().get("a1").orElseThrow();
    assertThat(stale.status()).isEqualTo(AgentStatus.OFFLINE);
    assertThat(stale.lastSeen()).isEqualTo(presence.heartbeatAt());
    assertThat(collab.agents().list()).extracting(Agent::id).containsExactly("a1");
  }

  @Test
  void agents_aDisabledAgentsPoolStopsClaimingUntilEnabled() {
    WorkerPool p = pool(collab, "w9", b -> b.handler("job", ctx -> Outcome.done()));
    Agent off = collab.agents().setEnabled("w9", false);
    assertThat(off.status()).isEqualTo(AgentStatus.DISABLED);
    awaitCondition("the pool saw the toggle", () -> !p.isClaiming());
    collab.tasks().create(NewTask.of("waits").withId("waits").withLabels("job"));
    assertThat(task("waits").status()).isEqualTo("queued");
    Agent on = collab.agents().setEnabled("w9", true);
    // enabled: available, or already busy if the pool (woken by the toggle's event) claimed before the status was read
    assertThat(on.status()).isIn(AgentStatus.AVAILABLE, AgentStatus.BUSY);
    awaitCondition("done", () -> task("waits").status().equals("done"));
    Event enabled = events(EventType.AGENT_STATUS_CHANGED).stream()
        .filter(e -> e.details().path("reason").asText().equals("enabled")).findFirst().orElseThrow();
    Event claimed = events(EventType.TASK_CLAIMED).get(0);
    assertThat(claimed.id()).isGreaterThan(enabled.id());
    assertThat(enabled.details().path("oldStatus").asText()).isEqualTo("disabled");
  }

  @Test
  void agents_poolsClaimOnlyTasksOfTheirSkills() {
    Collab other = newCollab("bob");
    pool(collab, "translator", b -> b.handler("translate", ctx -> Outcome.done()));
    pool(other, "summarizer", b -> b.handler("summarize", ctx -> Outcome.done()));
    for (int i = 0; i < 3; i++) {
      collab.tasks().create(NewTask.of("t" + i).withId("t" + i).withLabels("translate"));
      collab.tasks().create(NewTask.of("s" + i).withId("s" + i).withLabels("summarize"));
    }
    awaitCondition("all done", () -> collab.tasks().list(io.kyros.collab.TaskFilter.all().statuses("done")).size()
        == 6);
    for (Event e : events(EventType.TASK_CLAIMED)) {
      String expected = e.details().path("id").asText().startsWith("t") ? "translator" : "summarizer";
      assertThat(e.details().path("worker").asText()).isEqualTo(expected);
    }
  }

  @Test
  void agents_unknownAgentsAndBadInputAreRefusedWritingNothing() {
    long before = collab.events().lastId();
    assertThat(collab.agents().get("nobody")).isEmpty();
    assertThatThrownBy(() -> collab.agents().setEnabled("nobody", false)).isInstanceOf(NotFoundException.class)
        .hasMessageContaining("agent nobody (not registered)");
    assertThatThrownBy(() -> collab.agents().join("nobody", Duration.ofSeconds(5)))
        .isInstanceOf(NotFoundException.class);
    assertThatThrownBy(() -> AgentSpec.of("bad id", "worker")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("agent id must match");
    assertThatThrownBy(() -> AgentSpec.of("ok", "")).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("role must have 1 to 300 characters");
    assertThatThrownBy(() -> collab.agents().setEnabled("bad id", true)).isInstanceOf(IllegalArgumentException.class);
    assertThat(collab.events().lastId()).isEqualTo(before);
    assertThat(collab.leases().get("agents/nobody")).isEmpty();
  }

  /** @return the details of the agent_status_changed events after {@code before} */
  private List<String> statusChanges(long before) {
    return collab.events().read(before, 100).stream().filter(e -> e.type().equals("agent_status_changed"))
        .map(e -> e.target() + " " + e.details().path("oldStatus").asText() + "->" + e.details().path("newStatus")
            .asText()).toList();
  }

  @Test
  void agents_leaveWithAnotherAgentsPresenceIsRefused() {
    // found by review: leave released whatever lease it was given and recorded this agent offline
    collab.agents().register(AgentSpec.of("w1", "worker"));
    collab.agents().register(AgentSpec.of("w2", "worker"));
    collab.agents().join("w1", Duration.ofSeconds(30));
    Lease w2 = collab.agents().join("w2", Duration.ofSeconds(30));
    long before = collab.events().lastId();
    assertThatThrownBy(() -> collab.agents().leave("w1", w2)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("presence must be agent w1's presence lease agents/w1, not a lease of agents/w2");
    assertThat(collab.events().lastId()).isEqualTo(before);
    assertThat(collab.agents().get("w1").orElseThrow().status()).isEqualTo(AgentStatus.AVAILABLE);
    assertThat(collab.agents().get("w2").orElseThrow().status()).isEqualTo(AgentStatus.AVAILABLE);
  }

  @Test
  void agents_leaveWithALostPresenceRecordsNothingWhileAnotherHolderHasTheAgentOnline() {
    collab.agents().register(AgentSpec.of("w1", "worker"));
    Lease old = collab.agents().join("w1", Duration.ofSeconds(10));
    clock.advance(Duration.ofMinutes(1));
    newCollab("bob").agents().join("w1", Duration.ofSeconds(60)); // takes the stale presence over
    long before = collab.events().lastId();
    collab.agents().leave("w1", old); // the old process says goodbye late
    assertThat(statusChanges(before)).isEmpty();
    assertThat(collab.agents().get("w1").orElseThrow().status()).isEqualTo(AgentStatus.AVAILABLE);
    clock.advance(Duration.ofMinutes(2)); // bob's presence goes stale too: a late goodbye now records the leave
    collab.agents().leave("w1", old);
    assertThat(statusChanges(before)).containsExactly("agents/w1 available->offline");
  }

  @Test
  void agents_disablingAnAgentWhosePresenceWentStaleRecordsItOfflineNotAvailable() {
    collab.agents().register(AgentSpec.of("w1", "worker"));
    collab.agents().join("w1", Duration.ofSeconds(10));
    clock.advance(Duration.ofMinutes(5));
    assertThat(collab.agents().get("w1").orElseThrow().status()).isEqualTo(AgentStatus.OFFLINE);
    long before = collab.events().lastId();
    collab.agents().setEnabled("w1", false);
    assertThat(statusChanges(before)).containsExactly("agents/w1 offline->disabled");
  }

  @Test
  void agents_setEnabledWithPreconditionsChecksThemInItsCommit() {
    Agent a = collab.agents().register(AgentSpec.of("w1", "worker"));
    collab.agents().setEnabled("w1", false); // a change after the caller's read
    long before = collab.events().lastId();
    assertThatThrownBy(() -> collab.agents().setEnabled("w1", true, io.kyros.collab.Preconditions.ifMatch(a.etag())))
        .isInstanceOfSatisfying(io.kyros.collab.PreconditionFailedException.class,
            e -> assertThat(e.currentETag()).contains(collab.agents().get("w1").orElseThrow().etag()));
    assertThat(collab.events().lastId()).as("nothing written").isEqualTo(before);
    Agent current = collab.agents().get("w1").orElseThrow();
    assertThat(current.status()).isEqualTo(AgentStatus.DISABLED);
    Agent enabled = collab.agents().setEnabled("w1", true, io.kyros.collab.Preconditions.ifMatch(current.etag()));
    assertThat(enabled.status()).isEqualTo(AgentStatus.OFFLINE);
  }
}
