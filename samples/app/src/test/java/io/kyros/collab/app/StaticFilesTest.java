package io.kyros.collab.app;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The console's files over real HTTP. */
class StaticFilesTest extends ApiTestBase {
  /**
   * Bug: every GET of a path with no file cached an empty entry, so a client asking for distinct
   * made-up paths grew the server's memory without bound; only files are kept now.
   */
  @Test
  void pathsWithNoFileAreNotRemembered() {
    assertThat(http.get("/").statusCode()).isEqualTo(200);
    int cached = server.server.console().cached();
    assertThat(cached).isPositive();
    for (int i = 0; i < 300; i++) {
      assertThat(http.get("/made-up-" + i + ".js").statusCode()).isEqualTo(404);
    }
    assertThat(server.server.console().cached()).isEqualTo(cached);
  }

  @Test
  void traversalIsNotServed() {
    for (String path : new String[] {"/../pom.xml", "/%2e%2e/%2e%2e/etc/passwd", "/..%2fMain.class",
        "/io/kyros/collab/app/Main.class", "/console/index.html"}) {
      assertThat(http.get(path).statusCode()).as(path).isIn(400, 404);
    }
    assertThat(http.get("/index.html").statusCode()).isEqualTo(200);
  }
}
