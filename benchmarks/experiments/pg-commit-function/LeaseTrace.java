/* Makes the trace_ tables of RawLeaseCommits.java (a Collab store on PostgreSQL, table prefix "trace_") and times N lease acquire + release pairs on one thread. */
import io.kyros.collab.*;
import io.kyros.collab.jdbc.*;
import com.zaxxer.hikari.*;
import java.time.Duration;
public class LeaseTrace {
  public static void main(String[] a) throws Exception {
    HikariConfig c = new HikariConfig();
    c.setJdbcUrl("jdbc:postgresql://127.0.0.1:5432/test"); c.setUsername("postgres"); c.setMaximumPoolSize(4);
    try (HikariDataSource ds = new HikariDataSource(c)) {
      var storage = JdbcStorage.builder(ds).tablePrefix("trace_").build();
      storage.createSchema();
      try (Collab collab = Collab.builder().storage(storage).holder("bench").build()) {
        int n = Integer.parseInt(a[0]);
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
          if (i == n - 3) System.out.println("MARK");
          Lease l = collab.leases().tryAcquire("r" + (i % 8), Duration.ofSeconds(30)).orElseThrow();
          collab.leases().release(l);
        }
        System.out.println((System.nanoTime() - t0) / n / 1000 + " us per acquire+release");
      }
      storage.close();
    }
  }
}
