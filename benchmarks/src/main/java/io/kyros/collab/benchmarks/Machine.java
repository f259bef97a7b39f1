package io.kyros.collab.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * What the benchmarks ran on, as the report's machine section: CPU, memory, OS, the disk holding the benchmark data
 * and the versions of the database servers and engines. Every probe tolerates what it cannot read ("unknown",
 * "unreachable"); the PostgreSQL and MariaDB probes give up after 2 s.
 *
 * @param facts the facts, in report order
 */
record Machine(List<Fact> facts) {

  /**
   * One line of the machine section.
   *
   * @param name what it is, such as {@code CPU}
   * @param value its value
   */
  record Fact(String name, String value) {}

  private static final int TIMEOUT_SECONDS = 2;

  /**
   * Probes this machine.
   *
   * @param dataDir the benchmark data directory, which need not exist yet
   * @param databases whether to ask PostgreSQL, MariaDB, SQLite and H2 for their versions (tests skip it)
   * @return the facts
   */
  static Machine probe(Path dataDir, boolean databases) {
    List<Fact> facts = new ArrayList<>();
    facts.add(new Fact("CPU", cpu()));
    facts.add(new Fact("Memory", memory()));
    facts.add(new Fact("OS", os()));
    facts.add(new Fact("Benchmark data", dataDir + ": " + disk(dataDir)));
    if (databases) {
      facts.add(new Fact("PostgreSQL", server(BenchDatabase.POSTGRESQL, "SHOW server_version")));
      facts.add(new Fact("MariaDB", server(BenchDatabase.MARIADB, "SELECT VERSION()")));
      facts.add(new Fact("SQLite", version("jdbc:sqlite::memory:", "select sqlite_version()")));
      facts.add(new Fact("H2", version("jdbc:h2:mem:", "select h2version()")));
    } else {
      facts.add(new Fact("Databases", "not probed"));
    }
    return new Machine(List.copyOf(facts));
  }

  private static String cpu() {
    String model = lines(Path.of("/proc/cpuinfo")).stream()
        .filter(line -> line.startsWith("model name"))
        .map(line -> line.substring(line.indexOf(':') + 1).trim())
        .findFirst()
        .orElse(System.getProperty("os.arch"));
    return model + ", " + Runtime.getRuntime().availableProcessors() + " cores available to the JVM";
  }

  private static String memory() {
    return lines(Path.of("/proc/meminfo")).stream()
        .filter(line -> line.startsWith("MemTotal:"))
        .map(line -> line.replaceAll("[^0-9]", ""))
        .filter(kb -> !kb.isEmpty())
        .map(kb -> String.format(Locale.ROOT, "%.1f GiB", Long.parseLong(kb) / (1024.0 * 1024.0)))
        .findFirst()
        .orElse("unknown");
  }

  private static String os() {
    String name = lines(Path.of("/etc/os-release")).stream()
        .filter(line -> line.startsWith("PRETTY_NAME="))
        .map(line -> line.substring("PRETTY_NAME=".length()).replace("\"", ""))
        .findFirst()
        .orElse(System.getProperty("os.name"));
    return name + ", kernel " + System.getProperty("os.version") + " (" + System.getProperty("os.arch") + ")";
  }

  /** The file system holding {@code dir} from /proc/mounts, and its disk's model from /sys/block or lsblk. */
  private static String disk(Path dir) {
    Path existing = dir.toAbsolutePath();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return "unknown file system";
    }
    try {
      existing = existing.toRealPath();
    } catch (IOException e) {
      return "unknown file system (" + e.getMessage() + ")";
    }
    String[] mount = null;
    int longest = -1;
    for (String line : lines(Path.of("/proc/mounts"))) {
      String[] fields = line.split(" ");
      if (fields.length >= 3) {
        Path point = Path.of(unescape(fields[1]));
        if (existing.startsWith(point) && point.toString().length() >= longest) {
          mount = fields;
          longest = point.toString().length();
        }
      }
    }
    if (mount == null) {
      return "unknown file system";
    }
    String device = unescape(mount[0]);
    return mount[2] + " on " + device + " mounted at " + unescape(mount[1]) + blockDevice(device).map(d -> ", " + d).orElse("");
  }

  /** /proc/mounts writes spaces, tabs, newlines and backslashes in octal ({@code \040}). */
  private static String unescape(String field) {
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        text.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        text.append(c);
      }
    }
    return text.toString();
  }

  /** The disk under a block device (a partition's parent, a device-mapper's first slave): model and rotation. */
  private static Optional<String> blockDevice(String device) {
    if (!device.startsWith("/dev/")) {
      return Optional.empty();
    }
    String name;
    try {
      name = Path.of(device).toRealPath().getFileName().toString();
    } catch (IOException e) {
      name = Path.of(device).getFileName().toString();
    }
    Path sys = Path.of("/sys/class/block", name);
    if (!Files.exists(sys)) {
      return Optional.empty();
    }
    try {
      Path real = sys.toRealPath();
      String disk = Files.exists(real.resolve("partition")) ? real.getParent().getFileName().toString() : name;
      Path slaves = Path.of("/sys/block", disk, "slaves");
      if (Files.isDirectory(slaves)) {
        try (var list = Files.list(slaves)) {
          Optional<String> slave = list.map(p -> p.getFileName().toString()).sorted().findFirst();
          if (slave.isPresent()) {
            return blockDevice("/dev/" + slave.get()).map(d -> "on " + slave.get() + ": " + d);
          }
        }
      }
      String model = first(Path.of("/sys/block", disk, "device", "model")).or(() -> lsblkModel("/dev/" + disk))
          .orElse("model not reported");
      String rotational = first(Path.of("/sys/block", disk, "queue", "rotational"))
          .map(r -> "1".equals(r) ? "reported rotational" : "reported non-rotational")
          .orElse("rotation unknown");
      return Optional.of("disk " + disk + " (" + model + ", " + rotational + ")");
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static Optional<String> lsblkModel(String device) {
    try {
      Process lsblk = new ProcessBuilder("lsblk", "-ndo", "MODEL", device).redirectErrorStream(true).start();
      if (!lsblk.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        lsblk.destroyForcibly();
        return Optional.empty();
      }
      String model = new String(lsblk.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      return lsblk.exitValue() == 0 && !model.isEmpty() ? Optional.of(model) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  private static String server(BenchDatabase database, String versionQuery) {
    Properties properties = new Properties();
    properties.setProperty("user", database.user);
    properties.setProperty("password", database.password);
    long unit = database == BenchDatabase.POSTGRESQL ? 1 : 1000; // pgjdbc takes seconds, MariaDB's driver millis
    properties.setProperty("loginTimeout", String.valueOf(TIMEOUT_SECONDS));
    properties.setProperty("connectTimeout", String.valueOf(TIMEOUT_SECONDS * unit));
    properties.setProperty("socketTimeout", String.valueOf(TIMEOUT_SECONDS * 2 * unit));
    try (Connection connection = DriverManager.getConnection(database.url, properties)) {
      return query(connection, versionQuery) + " at " + database.url;
    } catch (SQLException e) {
      return "unreachable at " + database.url + " (" + e.getMessage() + ")";
    }
  }

  private static String version(String url, String sql) {
    try (Connection connection = DriverManager.getConnection(url)) {
      return query(connection, sql);
    } catch (SQLException e) {
      return "unknown (" + e.getMessage() + ")";
    }
  }

  private static String query(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement(); ResultSet rows = statement.executeQuery(sql)) {
      return rows.next() ? rows.getString(1) : "unknown";
    }
  }

  private static Optional<String> first(Path file) {
    return lines(file).stream().map(String::trim).filter(line -> !line.isEmpty()).findFirst();
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException | RuntimeException e) {
      return List.of();
    }
  }
}
