package org.hospes.dom0.boot.loader;

import java.util.List;
import org.hospes.dom0.boot.BootModule;

/**
 * What the user asked to boot besides the kernel image.
 *
 * @param cmdline the kernel command line, or null for none
 * @param modules boot modules in order (the first is Linux's initrd); loaders that cannot pass
 *     modules refuse a request that has some
 */
public record BootRequest(String cmdline, List<BootModule> modules) {

  public BootRequest {
    modules = List.copyOf(modules);
  }

  public static BootRequest of(String cmdline) {
    return new BootRequest(cmdline, List.of());
  }
}
