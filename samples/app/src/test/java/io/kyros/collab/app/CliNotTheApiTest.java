package io.kyros.collab.app;

import static io.kyros.collab.app.CliRuns.run;
import static io.kyros.collab.app.CliRuns.with;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.kyros.collab.app.CliRuns.Run;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Bug (review): a {@code --server} that is not the Collab API was taken for it. {@code HttpBackend} took any status
 * below 400 as success, so a 302 to a login page (not followed) was an empty answer: {@code tasks ls} printed nothing
 * and exited 0, {@code tasks claim} said nothing was claimable (3); a 200 with other JSON ({@code {}}) made the
 * commands fail with a NullPointerException, which exits 2 (usage), its message "Cannot invoke ...". What must hold:
 * an answer that is neither 2xx nor a problem+json refusal, and a 2xx that is not the JSON the route answers, exit 4
 * (as a server that cannot be reached) saying "the server at URL did not answer as the Collab API", quoting at most
 * {@link TerminalText#QUOTE_MAX} characters of the answer, escaped; a problem+json refusal keeps its status's exit code.
 */
class CliNotTheApiTest {
  private HttpServer fake;

  @AfterEach
  void stop() {
    if (fake != null) {
      fake.stop(0);
    }
  }

  /** @return --server for a server answering every request {@code status} with {@code body} of {@code type} */
  private String[] fake(int status, String type, String body) throws Exception {
    fake = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    fake.createContext("/", ex -> {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", type);
      if (status == 302) {
        ex.getResponseHeaders().add("Location", "https://login.example/");
      }
      ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
      if (b.length > 0) {
        ex.getResponseBody().write(b);
      }
      ex.close();
    });
    fake.start();
    return new String[] {"--server", "http://127.0.0.1:" + fake.getAddress().getPort()};
  }

  private static void notTheApi(Run r) {
    assertThat(r.code()).as("out=%s err=%s", r.out(), r.err()).isEqualTo(ExitCodes.STORAGE);
    assertThat(r.out()).isEmpty();
    assertThat(r.err()).contains("did not answer as the Collab API").doesNotContain("Cannot invoke");
  }

  @Test
  void aRedirectIsNotAnEmptyTaskListNorNothingToClaim() throws Exception {
    String[] where = fake(302, "application/json", "");
    Run ls = run(with(where, "tasks", "ls"));
    notTheApi(ls);
    assertThat(ls.err()).contains("HTTP 302 to https://login.example/");
    notTheApi(run(with(where, "tasks", "claim", "--worker", "w")));
    notTheApi(run(with(where, "log")));
  }

  @Test
  void otherJsonIsNeitherASuccessNorAUsageError() throws Exception {
    String[] where = fake(200, "application/json", "{}");
    for (String[] command : new String[][] {{"tasks", "show", "t1"}, {"tasks", "ls"}, {"tasks", "ready"},
        {"tasks", "claim", "--worker", "w"}, {"tasks", "add", "x"}, {"leases", "ls"}, {"leases", "acquire", "r"},
        {"leases", "release", "l1"}, {"leases", "reclaim"}, {"agents", "ls"}, {"batches", "ls"},
        {"batches", "show", "b1"}, {"events", "tail"}, {"events", "tail", "--after", "0"}, {"log"}}) {
      notTheApi(run(with(where, command)));
    }
  }

  @Test
  void listItemsWithoutTheirMembersAreNotTheApi() throws Exception {
    notTheApi(run(with(fake(200, "application/json", "{\"data\": [{\"x\": 1}]}"), "leases", "ls")));
  }

  @Test
  void anErrorPageIsQuotedShortAndEscaped() throws Exception {
    String page = "<html>\u001b]52;c;cHduZWQ=\u0007\u001b[2J" + "x".repeat(100_000) + "</html>";
    Run r = run(with(fake(502, "text/html", page), "tasks", "ls"));
    notTheApi(r);
    assertThat(r.err()).contains("HTTP 502", "\\u001B]52").doesNotContain("\u001b").hasSizeLessThan(600);
  }

  @Test
  void aProblemRefusalKeepsItsExitCode() throws Exception {
    Run r = run(with(fake(404, "application/problem+json",
        "{\"type\": \"about:blank\", \"title\": \"Not Found\", \"status\": 404, \"detail\": \"task t1\"}"),
        "tasks", "show", "t1"));
    assertThat(r.code()).as(r.err()).isEqualTo(ExitCodes.NOT_FOUND);
    assertThat(r.err()).contains("task t1");
  }
}
