package org.hospes.dom0.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code hospes --version}: the Maven project version, stamped into a resource at build time. */
final class HospesVersion implements IVersionProvider {

  static String version() {
    Properties p = new Properties();
    try (InputStream in = HospesVersion.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // Fall through to "unknown": a missing version must not stop the tool.
    }
    return p.getProperty("version", "unknown");
  }

  @Override
  public String[] getVersion() {
    return new String[] {
      "hospes " + version(),
      "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name")
          + ")"
    };
  }
}
