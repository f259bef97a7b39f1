package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;

/** Checks an RFC 9457 answer: its status, media type, members, and the words of its detail. */
final class ProblemAssert {
  private ProblemAssert() {}

  static JsonNode problem(HttpResponse<String> r, int status, String detailContains) {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(
        ct -> assertThat(ct).startsWith("application/problem+json"));
    JsonNode p = Http.json(r);
    assertThat(p.path("status").asInt()).isEqualTo(status);
    assertThat(p.path("title").asText()).isNotBlank();
    assertThat(p.path("type").asText()).isEqualTo("about:blank");
    assertThat(p.path("detail").asText()).contains(detailContains);
    return p;
  }
}
