package io.kyros.collab;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.function.UnaryOperator;

/**
 * One status change of a task, as {@link TaskCommits#move} commits it: where to, which event records it, whether
 * the workflow must allow the edge, what the event's details add and what else changes on the task record.
 *
 * @param to the new status
 * @param event the event that records the change
 * @param edge whether the workflow must allow the edge
 * @param extraDetails fields added to the event's details (after the standard ones)
 * @param changes further changes to the task record, applied to a private copy after the status is set
 * @param trailing events the commit records after its own ({@link TrailingEvents})
 */
record TaskMove(String to, EventType event, Edge edge, ObjectNode extraDetails, UnaryOperator<ObjectNode> changes,
    TrailingEvents trailing) {

  /** Which moves the workflow must allow. */
  enum Edge {
    /** A user's move: the workflow must allow the edge from the current status. */
    WORKFLOW,
    /**
     * A system move that ends a current claim (fail, release), from whatever status the claim reached, like
     * reclaim: it does not need the workflow's edge.
     */
    ENDS_CLAIM
  }

  /** A move the workflow must allow, with no extra details or changes. */
  static TaskMove along(String to, EventType event) {
    return new TaskMove(to, event, Edge.WORKFLOW, JsonNodeFactory.instance.objectNode(), json -> json,
        TrailingEvents.NONE);
  }

  /** A system move ending a claim, with no extra details or changes. */
  static TaskMove endingClaim(String to, EventType event) {
    return new TaskMove(to, event, Edge.ENDS_CLAIM, JsonNodeFactory.instance.objectNode(), json -> json,
        TrailingEvents.NONE);
  }

  /** @return this move with {@code details} added to its event's details */
  TaskMove withDetails(ObjectNode details) {
    return new TaskMove(to, event, edge, details, changes, trailing);
  }

  /** @return this move also applying {@code more} to the task record */
  TaskMove alsoSetting(UnaryOperator<ObjectNode> more) {
    return new TaskMove(to, event, edge, extraDetails, more, trailing);
  }

  /** @return this move with {@code events} recorded after its own */
  TaskMove followedBy(TrailingEvents events) {
    return new TaskMove(to, event, edge, extraDetails, changes, events);
  }
}
