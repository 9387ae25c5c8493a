package org.hospes.dom0.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code hospes list DOMAIN...}, as xl list takes domains: only their rows (or their JSON with
 * -l); a domain that is not there is the one line every verb gives. It was refused as an
 * "unmatched argument".
 */
class ListDomainsTest {
  @RegisterExtension
  final TestHosts.Running host = new TestHosts.Running();

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int hospes(String... args) {
    out.reset();
    err.reset();
    String[] all = host.withStateDir(args);
    return HospesCli.newCommandLine(new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8)).execute(all);
  }

  @Test
  void listTakesDomainsByNameOrIdAsXlListDoes() {
    assertThat(hospes("list", "Domain-0")).as(err.toString()).isZero();
    String byName = out.toString(StandardCharsets.UTF_8);
    assertThat(byName.lines()).hasSize(2);
    assertThat(byName.lines().skip(1)).singleElement().asString().startsWith("Domain-0 ");
    assertThat(hospes("list", "0")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(byName);

    assertThat(hospes("list", "-l", "0")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("\"name\" : \"Domain-0\"");

    assertThat(hospes("list", "0", "web")).isEqualTo(2);
    assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    assertThat(err.toString(StandardCharsets.UTF_8))
        .isEqualTo("hospes: no domain named or numbered 'web' (see ./hospes list)\n");
  }
}
