package org.hospes.dom0.devicemodel.xen;

import org.hospes.dom0.devicemodel.Unpluggable;

/** An unpluggable device that counts its unplugs. */
final class FakeDevice implements Unpluggable {
  private static int next;
  private final Kind kind;
  private final boolean primaryMaster;
  private final String name;
  int unplugs;

  FakeDevice(Kind kind, boolean primaryMaster) {
    this.kind = kind;
    this.primaryMaster = primaryMaster;
    this.name = kind + "#" + next++;
  }

  @Override
  public Kind unplugKind() {
    return kind;
  }

  @Override
  public boolean primaryMaster() {
    return primaryMaster;
  }

  @Override
  public String unplugName() {
    return name;
  }

  @Override
  public void unplug() {
    unplugs++;
  }
}
