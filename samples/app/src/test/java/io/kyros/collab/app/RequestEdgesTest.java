package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;

/**
 * Edges of requests found in review: a query that is not UTF-8 was 409 (Jetty's refusal read as a conflict); a
 * collection named like a state kind could not be listed; an empty name in an event filter's list meant no filter; a
 * directory of the console's files was served as a file. Also how an empty If-Match line beside a valid one is read.
 */
class RequestEdgesTest extends ApiTestBase {

  /**
   * A query with a percent-encoding that is not UTF-8 is a malformed request: 400. Jetty reports it as
   * HttpException.IllegalStateException(400, "Bad query"), which Problems.of maps to 409 Conflict as any
   * IllegalStateException, ignoring the HttpException's own status.
   */
  @Test
  void aQueryThatIsNotUtf8Is400Not409() {
    HttpResponse<String> r = http.get("/collab/events?limit=%FF");
    ProblemAssert.problem(r, 400, "query");
  }

  /** The same through the route that reads a task page's label list. */
  @Test
  void aTaskListQueryThatIsNotUtf8Is400Not409() {
    HttpResponse<String> r = http.get("/collab/tasks?label=%C3%28");
    ProblemAssert.problem(r, 400, "query");
  }

  /**
   * A document collection may be named tasks, leases, agents or batches (PUT answers 201), but GET
   * /collab/state/{kind} answers Collab's own tasks (leases, ...) for those names: the collection's state and its
   * ETag cannot be read, and the answer for it is another kind's data.
   */
  @Test
  void aCollectionNamedLikeAStateKindIsReadableAtItsOwnRoute() {
    HttpResponse<String> put = http.send("PUT", "/collab/docs/tasks/x", "{\"a\": 1}", "If-None-Match", "*");
    assertThat(put.statusCode()).isEqualTo(201);
    HttpResponse<String> r = http.get("/collab/docs/tasks");
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode state = Http.json(r);
    assertThat(state.path("data").findValuesAsText("collection")).as("GET /collab/docs/tasks: %s", state)
        .containsExactly("tasks");
    assertThat(r.headers().firstValue("ETag")).contains(state.path("etag").asText());
    assertThat(Http.json(http.get("/collab/state/tasks")).path("data")).as("the tasks, not the collection").isEmpty();
    ProblemAssert.problem(http.get("/collab/docs/_tasks"), 404, "reserved");
  }

  @Test
  void anEmptyTypeNameInTheEventsFilterIsRefusedNotReadAsNoFilter() {
    http.post("/collab/events", "{\"event\": \"build_finished\", \"target\": \"builds/1\"}");
    HttpResponse<String> r = http.get("/collab/events?after=0&type=,,");
    assertThat(r.statusCode()).as("type=,, answered %s", r.body()).isEqualTo(400);
  }

  /**
   * An empty If-Match line alone is 400 "If-Match header must not be empty"; sent beside a valid line, the lines are
   * the list they make joined (docs/app.md, Preconditions), whose empty element is accepted as on one line.
   */
  @Test
  void anEmptyIfMatchLineBesideAValidOneIsTheListTheyMakeJoined() {
    // RFC 9110: lines of a list header are the list of their values joined, and a recipient accepts empty elements
    // (a first review asked for 400 here; a second found that a regression against the single line ", etag")
    HttpResponse<String> created = http.post("/collab/tasks", "{\"title\": \"t\", \"id\": \"t1\"}");
    String etag = Http.etag(created);
    String line = "PATCH /collab/tasks/t1 HTTP/1.1";
    RawHttp.send(server.uri(), line, "{\"priority\": 1}", "Content-Type: application/json", "If-Match: ")
        .problem(400, "If-Match");
    RawHttp.Answer joined = RawHttp.send(server.uri(), line, "{\"priority\": 1}",
        "Content-Type: application/json", "If-Match: , " + etag);
    assertThat(joined.status()).as("one line ', %s': %s", etag, joined.body()).isEqualTo(200);
    String etag2 = joined.header("ETag");
    RawHttp.Answer twoLines = RawHttp.send(server.uri(), line, "{\"priority\": 2}",
        "Content-Type: application/json", "If-Match: ", "If-Match: " + etag2);
    assertThat(twoLines.status()).as("two lines '' and %s: %s", etag2, twoLines.body()).isEqualTo(200);
  }

  @Test
  void aConsoleDirectoryIsNotServedAsAFile() {
    HttpResponse<String> r = http.get("/js");
    assertThat(r.statusCode()).as("GET /js answered %s %s %s", r.statusCode(), r.headers().map(), r.body())
        .isEqualTo(404);
  }
}
