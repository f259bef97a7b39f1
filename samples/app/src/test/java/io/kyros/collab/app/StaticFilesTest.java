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

  /**
   * Bug (found in review): a file's If-None-Match was compared whole with its first line, so a list ({@code "old",
   * <current>}), the same on two lines, or the weak form a proxy may send answered 200 with the whole file.
   */
  @Test
  void ifNoneMatchIsAListOnOneLineOrSeveral() {
    String etag = Http.etag(http.get("/index.html"));
    assertThat(http.get("/index.html", "If-None-Match", etag).statusCode()).isEqualTo(304);
    assertThat(http.get("/index.html", "If-None-Match", "\"old\", " + etag).statusCode()).isEqualTo(304);
    assertThat(http.get("/index.html", "If-None-Match", "W/" + etag).statusCode()).isEqualTo(304);
    assertThat(RawHttp.send(server.uri(), "GET /index.html HTTP/1.1", null, "If-None-Match: \"old\"",
        "If-None-Match: " + etag).status()).isEqualTo(304);
    assertThat(http.get("/index.html", "If-None-Match", "\"old\", \"older\"").statusCode()).isEqualTo(200);
    assertThat(http.get("/index.html", "If-None-Match", "*").statusCode()).isEqualTo(304);
    // a comma and a star inside a quoted tag are the tag's (found in review: the star made a 304)
    assertThat(StaticFiles.noneMatch(java.util.List.of("\"x,*,y\""), etag)).isFalse();
    assertThat(StaticFiles.noneMatch(java.util.List.of("W/\"x,*\", \"q\""), etag)).isFalse();
    assertThat(StaticFiles.noneMatch(java.util.List.of("\"x,*\", W/" + etag), etag)).isTrue();
  }
}
