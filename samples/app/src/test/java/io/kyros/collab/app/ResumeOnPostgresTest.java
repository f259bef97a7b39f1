package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.kyros.collab.jdbc.JdbcStorage;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * On PostgreSQL an event id the server itself just answered (POST /collab/events → 201 {id}) can be past the log's
 * last id while an earlier id is still in flight (readers count an event once every earlier transaction ended): a
 * resume after it must be taken, not refused 409 as "past the end" (found by review of the 409, which first applied
 * to every store). The other transaction does what a commit does: takes its xid, then an event id.
 */
class ResumeOnPostgresTest {
  private static final String URL = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final String P = "app_resume_";

  private static void drop() throws Exception {
    try (Connection c = DriverManager.getConnection(URL, "postgres", ""); Statement s = c.createStatement()) {
      for (String t : new String[] {"collab_index", "collab_records", "collab_events", "collab_meta"}) {
        s.execute("DROP TABLE IF EXISTS " + P + t);
      }
      s.execute("DROP SEQUENCE IF EXISTS " + P + "collab_revision_seq");
      s.execute("DROP SEQUENCE IF EXISTS " + P + "collab_event_seq");
    }
  }

  @Test
  void anIdJustAnsweredIsAcceptedWhileAnEarlierOneIsInFlight() throws Exception {
    drop();
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(URL);
    hc.setUsername("postgres");
    hc.setPassword("");
    hc.setMaximumPoolSize(4);
    try (HikariDataSource pool = new HikariDataSource(hc)) {
      JdbcStorage storage = JdbcStorage.builder(pool).tablePrefix(P).build();
      storage.createSchema();
      OpenStore store = OpenStore.of(StoreSpec.parse(URL), storage);
      try (CollabServer server = new CollabServer(store, ServerConfig.builder().port(0).rateLimit(0, 1).build())) {
        server.start();
        Http http = new Http(server.uri());
        assertThat(http.post("/collab/events", "{\"event\": \"e1\", \"target\": \"t\"}").statusCode()).isEqualTo(201);
        // another writer (another server on the same database) has taken the next event id, not committed yet
        try (Connection other = DriverManager.getConnection(URL, "postgres", "")) {
          other.setAutoCommit(false);
          try (Statement s = other.createStatement();
              ResultSet rs = s.executeQuery("SELECT pg_current_xact_id(), nextval('" + P + "collab_event_seq')")) {
            rs.next();
          }
          HttpResponse<String> appended = http.post("/collab/events", "{\"event\": \"e2\", \"target\": \"t\"}");
          assertThat(appended.statusCode()).isEqualTo(201);
          long id = Http.json(appended).get("id").asLong();
          HttpResponse<String> after = http.get("/collab/events?after=" + id);
          assertThat(after.statusCode()).as(after.body()).isEqualTo(200);
          assertThat(http.get("/collab/events?after=" + (id + 1000)).statusCode()).as("a database does not refuse")
              .isEqualTo(200);
          other.rollback();
        }
      } finally {
        store.close();
      }
    } finally {
      drop();
    }
  }
}
