package org.hospes.dom0.devicemodel;

/**
 * Guest RAM for device fuzzers: {@code bytes} from address 0, refused beyond as
 * {@link ForeignGuestDma} refuses a frame the domain does not have (IllegalArgumentException; a
 * zero-length access moves nothing and is not refused unless the address is negative). Every
 * access is counted, and more than {@link #limit} in one operation fails the test: a device that
 * loops on a hostile ring is caught instead of hanging it. An optional check vets each write.
 */
public final class FuzzDma implements GuestDma {
  /** Vets a device's write before it happens (throws AssertionError to fail the test). */
  @FunctionalInterface
  public interface WriteCheck {
    void check(long gpa, int len);
  }

  public final byte[] ram;
  public long accesses;
  public long refused;
  /** Accesses allowed from one {@link #resetBudget} to the next. */
  public long limit = 5_000_000;
  private long budget;
  private WriteCheck writeCheck = (a, l) -> { };

  public FuzzDma(int bytes) {
    ram = new byte[bytes];
    resetBudget();
  }

  public void resetBudget() {
    budget = limit;
  }

  public void onWrite(WriteCheck c) {
    writeCheck = c;
  }

  /** True if [gpa, gpa + len) is RAM (overflow-safe). */
  public boolean inRam(long gpa, long len) {
    return gpa >= 0 && len >= 0 && (len == 0 || gpa <= ram.length - len);
  }

  private void access(long gpa, int len) {
    accesses++;
    if (--budget < 0) {
      throw new AssertionError("more than " + limit + " DMA accesses in one operation");
    }
    if (!inRam(gpa, len)) {
      refused++;
      throw new IllegalArgumentException(String.format("no frame at 0x%x (+%d)", gpa, len));
    }
  }

  @Override
  public void read(long gpa, byte[] dst, int off, int len) {
    access(gpa, len);
    if (len > 0) {
      System.arraycopy(ram, (int) gpa, dst, off, len);
    }
  }

  @Override
  public void write(long gpa, byte[] src, int off, int len) {
    access(gpa, len);
    if (len > 0) {
      writeCheck.check(gpa, len);
      System.arraycopy(src, off, ram, (int) gpa, len);
    }
  }
}
