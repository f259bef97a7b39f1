package io.kyros.collab.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Compiles and runs the example of docs/workers.md exactly as the page shows it. */
class WorkersDocExampleTest {

  @Test
  void workersExampleCompilesAndRuns(@TempDir Path dir) throws Exception {
    String page = Files.readString(Path.of("..", "docs", "workers.md"));
    Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(page);
    assertThat(m.find()).as("docs/workers.md has a ```java block").isTrue();
    Path source = dir.resolve("WorkersExample.java");
    Files.writeString(source, m.group(1));

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    int rc = javac.run(null, null, errors, "-d", dir.toString(), "--release", "17", "-Xlint:all", "-Werror",
        "-classpath", System.getProperty("java.class.path"), source.toString());
    assertThat(rc).as("javac output: %s", errors.toString(StandardCharsets.UTF_8)).isZero();

    PrintStream original = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      Method main = loader.loadClass("WorkersExample").getMethod("main", String[].class);
      main.invoke(null, (Object) new String[0]);
    } finally {
      System.setOut(original);
    }
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(printed).contains("album: 100% (0 running)").contains("album ended completed")
        .contains("resizer-1 image worker [report, resize] ");
  }
}
