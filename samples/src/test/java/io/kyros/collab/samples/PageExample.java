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

/** The first ```java block of a Markdown page, compiled with -Werror and run; what keeps a page's example true. */
final class PageExample {
  private PageExample() {}

  /**
   * @param page the Markdown file
   * @param className the public class the block declares
   * @param dir an empty working directory
   * @return what the example's main printed
   */
  static String compileAndRun(Path page, String className, Path dir) throws Exception {
    Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(page));
    assertThat(m.find()).as("%s has a ```java block", page.getFileName()).isTrue();
    Path source = dir.resolve(className + ".java");
    Files.writeString(source, m.group(1));

    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream errors = new ByteArrayOutputStream();
    int rc = javac.run(null, null, errors, "-d", dir.toString(), "--release", "17", "-Xlint:all", "-Werror",
        "-classpath", System.getProperty("java.class.path"), source.toString());
    assertThat(rc).as("javac output: %s", errors.toString(StandardCharsets.UTF_8)).isZero();

    PrintStream original = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()},
        PageExample.class.getClassLoader())) {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      Method main = loader.loadClass(className).getMethod("main", String[].class);
      main.invoke(null, (Object) new String[0]);
    } finally {
      System.setOut(original);
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
